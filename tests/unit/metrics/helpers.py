"""Parse an exposition the way a scraper would and look samples up."""

from __future__ import annotations

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from service.metrics import render


def parse(text: bytes | str) -> dict[str, Metric]:
    """Families by name (the parser names Go-style counters without ``_total``)."""
    if isinstance(text, bytes):
        text = text.decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def scrape(registry: Collector) -> dict[str, Metric]:
    return parse(render(registry))


def value(families: dict[str, Metric], sample: str, **labels: str) -> float | None:
    """Value of the sample named ``sample`` with exactly ``labels`` (None when absent).

    Counters are looked up by their exposed name; the parser stores their samples with
    ``_total`` appended, which is handled here.
    """
    for family in families.values():
        for s in family.samples:
            name = s.name
            if (
                family.type == "counter"
                and name.endswith("_total")
                and family.name + "_total" == name
            ):
                name = family.name
            if name == sample and s.labels == labels:
                return float(s.value)
    return None


def label_sets(family: Metric) -> set[frozenset[str]]:
    """Label names of every sample, without the summary/histogram ``le``/``quantile``."""
    return {frozenset(k for k in s.labels if k not in ("le", "quantile")) for s in family.samples}
