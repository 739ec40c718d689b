"""What every canvasback widget shares: its bundle, strict kwargs, RPC dispatch, Arrow.

A widget's front end asks for data with ``{"id", "kind", ...params}`` custom messages (see
``js/lib/rpc.ts``). :class:`BaseWidget` routes each one by ``kind`` to the method marked
``@rpc(kind)`` and always answers, with ``{"id", "kind", "reply"}`` plus binary buffers
or with ``{"id", "kind", "error"}``: a failing request must not take the widget down.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import pyarrow as pa
import traitlets

try:
    import anywidget
except ModuleNotFoundError as exc:  # pragma: no cover - exercised without the extra
    _msg = (
        "canvasback's widgets need anywidget and ipywidgets, which are not installed. "
        "Install them with: pip install 'canvasback[widgets]'"
    )
    raise ImportError(_msg, name=exc.name) from exc

import ipywidgets

from canvasback.widgets._paths import STATIC, bundle
from canvasback.widgets._runtime import Runtime, loader_source, runtime

__all__ = [
    "STATIC",
    "BaseWidget",
    "Buffers",
    "RpcReply",
    "arrow_ipc_bytes",
    "bundle",
    "rpc",
    "table_from_ipc_bytes",
]

_LOG = logging.getLogger(__name__)

# Marks a method as the handler of one request kind; read back in __init_subclass__.
_RPC_KIND_ATTR = "_canvasback_rpc_kind"

# anywidget's own experimental command protocol shares the custom-message channel.
_FOREIGN_KIND_PREFIX = "anywidget-"

Buffers = Sequence[bytes | bytearray | memoryview]
RpcReply = tuple[dict[str, Any], Buffers]
_Handler = TypeVar("_Handler", bound=Callable[..., RpcReply])


def rpc(kind: str) -> Callable[[_Handler], _Handler]:
    """Mark a method as the handler of front-end requests of ``kind``.

    The method receives the request as a dict (``kind`` and the parameters; the request
    id is handled here) and returns ``(reply, buffers)``: a JSON-able dict and a list of
    binary buffers, e.g. ``[arrow_ipc_bytes(table)]``. An exception it raises becomes an
    ``{"error": ...}`` reply.
    """

    def mark(method: _Handler) -> _Handler:
        setattr(method, _RPC_KIND_ATTR, kind)
        return method

    return mark


class BaseWidget(anywidget.AnyWidget):
    """Base of canvasback's widgets.

    Subclasses set ``_esm = bundle("<entry>")`` (the code in each widget's state) or
    ``_shared_bundle = "<entry>"`` (the code once per kernel, in a shared
    :class:`~canvasback.widgets._runtime.Runtime`; ``_esm`` is then the loader), declare
    synced traits, and mark request handlers with :func:`rpc`. Unknown constructor
    keywords are an error rather than silently ignored, since a misspelt trait would
    otherwise just not take effect.
    """

    # Kind -> method; every subclass inherits these two and adds its own @rpc methods.
    _rpc_handlers: ClassVar[dict[str, str]] = {"ping": "_ping", "runtime": "_runtime_request"}
    _shared_bundle: ClassVar[str | None] = None

    _runtime = traitlets.Instance(Runtime, allow_none=True, default_value=None).tag(
        sync=True, **ipywidgets.widget_serialization
    )
    _runtime_digest = traitlets.Unicode("").tag(sync=True)
    # Marks this widget's saved static output, which its live view hides (saved_view.ts).
    _static_key = traitlets.Unicode("").tag(sync=True)

    @traitlets.default("_static_key")
    def _new_static_key(self) -> str:
        return secrets.token_hex(8)

    def __init_subclass__(cls, **kwargs: Any) -> None:  # noqa: ANN401 - passed through to anywidget
        if cls.__dict__.get("_shared_bundle") is not None and "_esm" not in cls.__dict__:
            cls._esm = loader_source()
        super().__init_subclass__(**kwargs)
        handlers = dict(cls._rpc_handlers)
        own: dict[str, str] = {}
        for attr, value in vars(cls).items():
            kind = getattr(value, _RPC_KIND_ATTR, None)
            if kind is None:
                continue
            if kind in own:
                msg = f"{cls.__name__}: both {own[kind]!r} and {attr!r} handle {kind!r}"
                raise TypeError(msg)
            own[kind] = attr
        handlers.update(own)
        cls._rpc_handlers = handlers

    def __init__(self, **kwargs: Any) -> None:  # noqa: ANN401 - trait values of any type
        accepted = self._accepted_kwargs()
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            names = ", ".join(repr(name) for name in unknown)
            msg = (
                f"{type(self).__name__}() got unexpected keyword argument(s) {names}; "
                f"it accepts: {', '.join(sorted(accepted))}"
            )
            raise TypeError(msg)
        shared = self._shared_bundle
        if shared is not None:
            # Before the comm opens, so the first state already names the runtime.
            code = runtime(shared)
            kwargs = {**kwargs, "_runtime": code, "_runtime_digest": code.digest}
        super().__init__(**kwargs)
        self.on_msg(self._on_custom_message)

    @classmethod
    def _accepted_kwargs(cls) -> set[str]:
        # Private traits (_esm, _model_name, ...) are the protocol's, not the user's.
        return {name for name in cls.class_trait_names() if not name.startswith("_")}

    def __repr__(self) -> str:
        # Never touch trait values here: a repr must not serialize Arrow payloads.
        comm = getattr(self, "comm", None)
        model_id = getattr(comm, "comm_id", None)
        return f"<{type(self).__name__} model_id={model_id!r}>"

    @rpc("ping")
    def _ping(self, _request: Mapping[str, Any]) -> RpcReply:
        # A live view asks once: an answer means a kernel is behind it (saved_view.ts).
        return {}, []

    @rpc("runtime")
    def _runtime_request(self, _request: Mapping[str, Any]) -> RpcReply:
        # For front ends that cannot resolve the ``_runtime`` reference themselves.
        shared = self._runtime
        if shared is None:
            msg = f"{type(self).__name__} has no shared runtime"
            raise ValueError(msg)
        return {"digest": shared.digest}, [shared.code]

    def view_bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget view's MIME bundle alone, for an output of its own (no static copy)."""
        result = anywidget.AnyWidget._repr_mimebundle_(self)
        data, metadata = result if result is not None else ({}, {})
        return {**data, "text/plain": ""}, dict(metadata)

    def _on_custom_message(self, _widget: object, content: object, _buffers: object) -> None:
        if not isinstance(content, Mapping):
            return
        kind = content.get("kind")
        if not isinstance(kind, str) or kind.startswith(_FOREIGN_KIND_PREFIX):
            return
        request_id = content.get("id")
        request = {key: value for key, value in content.items() if key != "id"}
        reply, buffers = self.handle_request(kind, request)
        if request_id is None:
            # Fire-and-forget message: handled, nobody waits for an answer.
            return
        try:
            self.send({"id": request_id, "kind": kind, **reply}, list(buffers))
        except Exception as error:  # noqa: BLE001 - a reply that cannot be sent is still answered
            _LOG.debug("canvasback: could not send the reply to %r", kind, exc_info=True)
            try:
                self.send({"id": request_id, "kind": kind, "error": _describe(error)}, [])
            except Exception:  # noqa: BLE001 - the comm itself is gone; nothing left to tell
                _LOG.debug("canvasback: could not send an error reply", exc_info=True)

    def handle_request(
        self, kind: str, request: Mapping[str, Any]
    ) -> tuple[dict[str, Any], Buffers]:
        """Run the handler of ``kind`` and return the reply's fields and buffers.

        That is ``({"reply": ...}, buffers)``, or ``({"error": ...}, [])`` when there is no
        such handler or it raised. The message handler calls this; tests call it directly,
        as the front end would.
        """
        attr = self._rpc_handlers.get(kind)
        if attr is None:
            known = ", ".join(sorted(self._rpc_handlers)) or "none"
            return {"error": f"unknown request kind {kind!r} (known: {known})"}, []
        try:
            reply, buffers = getattr(self, attr)(dict(request))
        except Exception as error:  # noqa: BLE001 - the widget must survive any failing request
            _LOG.debug("canvasback: request %r failed", kind, exc_info=True)
            return {"error": _describe(error)}, []
        return {"reply": reply}, list(buffers)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def arrow_ipc_bytes(table: pa.Table) -> bytes:
    """Serialize ``table`` as an Arrow IPC stream, the format ``js/lib/arrow.ts`` decodes."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def table_from_ipc_bytes(data: bytes | bytearray | memoryview) -> pa.Table:
    """Read an Arrow IPC stream back into a table (the inverse of :func:`arrow_ipc_bytes`)."""
    with pa.ipc.open_stream(pa.py_buffer(data)) as reader:
        table: pa.Table = reader.read_all()
    return table
