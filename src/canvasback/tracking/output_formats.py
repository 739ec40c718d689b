"""What a read returns: ``output_format="pandas" | "polars" | "arrow" | "list"``.

The query layer answers in Arrow; pandas and Polars are each one conversion from it, so
a Polars user never pays for pandas (``polars.from_arrow`` shares Arrow's buffers).
Polars is optional: asking for it without it installed says how to get it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from canvasback.exceptions import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

OUTPUT_FORMATS: Final = ("pandas", "polars", "arrow", "list")


def check_output_format(value: object) -> str:
    """``value`` if it is an output format; else an error naming it and the allowed ones."""
    if not isinstance(value, str) or value not in OUTPUT_FORMATS:
        allowed = ", ".join(repr(f) for f in OUTPUT_FORMATS)
        msg = f"Invalid output_format {value!r}: allowed are {allowed}"
        raise InvalidInputError(msg)
    return value


def table_as(table: pa.Table, output_format: str) -> Any:  # noqa: ANN401  # the format's frame
    """An Arrow table as a pandas or Polars DataFrame, or as it is (``"arrow"``)."""
    if output_format == "arrow":
        return table
    if output_format == "polars":
        try:
            import polars as pl  # noqa: PLC0415  # optional, loaded only when asked for
        except ModuleNotFoundError:
            msg = (
                "output_format='polars' needs Polars, which is not installed: "
                "pip install polars (or ask for output_format='arrow' or 'pandas')"
            )
            raise ImportError(msg, name="polars") from None
        return pl.from_arrow(table)
    # One block per column: joining the float columns into one block costs more than it saves.
    return table.to_pandas(split_blocks=True)
