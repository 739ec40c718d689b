"""The widget base without a browser: kwargs, RPC dispatch, Arrow bytes, import hygiene."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pyarrow as pa
import pytest
import traitlets

from canvasback.widgets._base import (
    STATIC,
    BaseWidget,
    arrow_ipc_bytes,
    bundle,
    rpc,
    table_from_ipc_bytes,
)


class ChartProbe(BaseWidget):
    """The smallest widget on the ``vega_view`` front end, with two request kinds."""

    _esm = bundle("vega_view")
    spec = traitlets.Dict().tag(sync=True)
    datasets = traitlets.Dict(value_trait=traitlets.Bytes()).tag(sync=True)
    clicked = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    selections = traitlets.Dict().tag(sync=True)

    @rpc("rows")
    def _rows(self, request):
        limit = int(request["limit"])
        table = pa.table({"step": pa.array(range(limit), pa.int64()), "run_id": ["r"] * limit})
        return {"count": table.num_rows}, [arrow_ipc_bytes(table)]

    @rpc("fail")
    def _fail(self, request):
        msg = f"no such run: {request['run_id']}"
        raise ValueError(msg)


@pytest.fixture
def probe(monkeypatch):
    widget = ChartProbe()
    sent = []
    monkeypatch.setattr(
        widget, "send", lambda content, buffers=None: sent.append((content, buffers or []))
    )
    widget.sent = sent
    yield widget
    widget.close()


def from_front_end(widget, content, buffers=()):
    """Deliver a custom message the way ipywidgets does when the browser sends one."""
    widget._handle_msg(
        {"content": {"data": {"method": "custom", "content": content}}, "buffers": list(buffers)}
    )


def test_bundle_path_is_inside_the_package():
    assert bundle("vega_view") == STATIC / "vega_view.js"
    assert ChartProbe._esm  # anywidget read the file when the class was defined


def test_missing_bundle_names_the_build_commands():
    with pytest.raises(FileNotFoundError, match=r"npm ci && npm run build"):
        bundle("no_such_widget")


def test_unknown_kwarg_is_rejected_with_the_accepted_names():
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'sepc'") as info:
        ChartProbe(sepc={})
    assert "spec" in str(info.value)
    assert "datasets" in str(info.value)


def test_private_traits_are_not_constructor_arguments():
    with pytest.raises(TypeError, match="'_esm'"):
        ChartProbe(_esm="export default {}")


def test_known_kwargs_set_traits():
    widget = ChartProbe(spec={"mark": "bar"}, datasets={"points": b"\x00"})
    assert widget.spec == {"mark": "bar"}
    assert widget.datasets == {"points": b"\x00"}
    widget.close()


def test_rpc_reply_carries_the_request_id_and_arrow_bytes(probe):
    from_front_end(probe, {"id": "abc-1", "kind": "rows", "limit": 3})
    ((content, buffers),) = probe.sent
    assert content == {"id": "abc-1", "kind": "rows", "reply": {"count": 3}}
    (payload,) = buffers
    table = table_from_ipc_bytes(payload)
    assert table.column("step").to_pylist() == [0, 1, 2]
    assert table.schema.field("step").type == pa.int64()


def test_handler_exception_becomes_an_error_reply_and_the_widget_lives_on(probe):
    from_front_end(probe, {"id": "abc-2", "kind": "fail", "run_id": "r9"})
    from_front_end(probe, {"id": "abc-3", "kind": "rows", "limit": 1})
    (failed, _), (ok, _) = probe.sent
    assert failed == {"id": "abc-2", "kind": "fail", "error": "ValueError: no such run: r9"}
    assert ok["id"] == "abc-3"
    assert ok["reply"] == {"count": 1}


def test_bad_request_parameters_are_an_error_reply(probe):
    from_front_end(probe, {"id": "abc-4", "kind": "rows"})
    ((content, buffers),) = probe.sent
    assert content["id"] == "abc-4"
    assert content["error"].startswith("KeyError")
    assert buffers == []


def test_unknown_kind_is_an_error_reply_naming_the_known_ones(probe):
    from_front_end(probe, {"id": "abc-5", "kind": "nope"})
    ((content, _),) = probe.sent
    assert content["error"] == "unknown request kind 'nope' (known: fail, ping, rows, runtime)"


def test_messages_that_are_not_requests_get_no_reply(probe):
    from_front_end(probe, "text")
    from_front_end(probe, {"no": "kind"})
    from_front_end(probe, {"kind": "anywidget-command", "id": "x", "name": "n", "msg": {}})
    from_front_end(probe, {"kind": "rows", "limit": 1})  # fire and forget
    assert probe.sent == []


def test_unsendable_reply_becomes_an_error_reply(probe, monkeypatch):
    attempts = []

    def send(content, _buffers=None):
        attempts.append(content)
        if "reply" in content:
            msg = "Object of type set is not JSON serializable"
            raise TypeError(msg)

    monkeypatch.setattr(probe, "send", send)
    from_front_end(probe, {"id": "abc-6", "kind": "rows", "limit": 1})
    assert attempts[-1] == {
        "id": "abc-6",
        "kind": "rows",
        "error": "TypeError: Object of type set is not JSON serializable",
    }


def test_handle_request_is_callable_directly(probe):
    reply, buffers = probe.handle_request("rows", {"kind": "rows", "limit": 2})
    assert reply == {"reply": {"count": 2}}
    assert table_from_ipc_bytes(buffers[0]).num_rows == 2


def test_handlers_are_inherited_and_duplicates_refused():
    class Child(ChartProbe):
        @rpc("extra")
        def _extra(self, _request):
            return {}, []

    # ping and runtime: every widget's, for the loader (js/loader.ts).
    assert set(Child._rpc_handlers) == {"rows", "fail", "extra", "ping", "runtime"}
    assert set(ChartProbe._rpc_handlers) == {"rows", "fail", "ping", "runtime"}

    with pytest.raises(TypeError, match="handle 'twice'"):

        class Twice(ChartProbe):
            @rpc("twice")
            def _a(self, _request):
                return {}, []

            @rpc("twice")
            def _b(self, _request):
                return {}, []


def test_repr_does_not_serialize_state(monkeypatch):
    widget = ChartProbe(datasets={"points": b"x" * 1_000_000})

    def boom(*_args, **_kwargs):
        raise AssertionError

    monkeypatch.setattr(widget, "get_state", boom)
    text = repr(widget)
    assert text.startswith("<ChartProbe model_id=")
    assert len(text) < 100
    widget.close()


def test_arrow_round_trip_keeps_types():
    table = pa.table(
        {
            "run_id": pa.array(["a", "b"]),
            "step": pa.array([1, 2**60], pa.int64()),
            "value": pa.array([0.5, None], pa.float64()),
            "ts": pa.array([0, 1_700_000_000_000], pa.timestamp("ms", tz="UTC")),
        }
    )
    data = arrow_ipc_bytes(table)
    assert isinstance(data, bytes)
    assert data[:4] == b"\xff\xff\xff\xff"  # an IPC stream starts with a continuation marker
    assert table_from_ipc_bytes(data).equals(table)
    assert table_from_ipc_bytes(memoryview(data)).equals(table)


@pytest.mark.slow  # a fresh interpreter
def test_importing_canvasback_and_widgets_does_not_import_anywidget():
    code = textwrap.dedent(
        """
        import sys
        import canvasback
        import canvasback.widgets
        loaded = {"anywidget", "ipywidgets"} & set(sys.modules)
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow  # a fresh interpreter
def test_missing_anywidget_gives_an_actionable_import_error():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["anywidget"] = None  # what an environment without the extra looks like
        try:
            import canvasback.widgets._base
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("imported without anywidget")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert "pip install 'canvasback[widgets]'" in result.stdout
