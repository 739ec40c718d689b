"""SQL of a parsed filter's keys for searches over one view: columns and tag joins.

Experiments, and the entities of layers above that have a tags view, are filtered
alike: an attribute is a column of the searched view, a ``tags.`` key a left join of
its tags view, added once per key with the key as a bound parameter.
"""

from __future__ import annotations

from typing import Any


class TaggedColumns:
    """Maps ``(entity, key)`` of a filter or order to SQL; collects the joins it needs.

    Parameters
    ----------
    attributes
        Attribute name -> the column's SQL (as the searched view's alias names it).
    tags
        The tags view, with a ``key`` and a ``value`` column.
    on
        The join condition, with ``{t}`` standing for the joined tags' alias.

    """

    def __init__(self, attributes: dict[str, str], tags: str, on: str) -> None:
        self.attributes = attributes
        self.tags, self.on = tags, on
        self.joins: list[str] = []
        self.params: list[Any] = []
        self._aliases: dict[str, str] = {}

    def __call__(self, entity: str, key: str) -> str:
        """The SQL value of one key (a column, or the value of its joined tag)."""
        if entity == "attribute":
            return self.attributes[key]
        alias = self._aliases.get(key)
        if alias is None:
            alias = self._aliases[key] = f"t{len(self._aliases)}"
            self.joins.append(
                f"LEFT JOIN (SELECT * FROM {self.tags} WHERE key = ?) {alias} "
                f"ON {self.on.format(t=alias)}"
            )
            self.params.append(key)
        return f"{alias}.value"
