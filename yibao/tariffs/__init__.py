"""Versioned tariffs: the policy numbers as data (see `model` for the format)."""

from yibao.tariffs.model import Tariff
from yibao.tariffs.registry import DEFAULT_TARIFF, LoadedTariff, in_force, load_file, load_version, resolve

__all__ = ["DEFAULT_TARIFF", "LoadedTariff", "Tariff", "in_force", "load_file", "load_version", "resolve"]
