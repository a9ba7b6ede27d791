"""Turn collected plot data into DVC's renderers, `--json` and the HTML page.

Templates and their filling come from dvc-render (the field's library, also used by DVC,
so `--json` content is the same). The data conversion (datapoints, inferred x/y, several
files on one plot) follows DVC 3's observable behaviour. The page loads Vega, Vega-Lite
and vega-embed from copies shipped in this package: it works with no network.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvc_render.base import Renderer

    from xpt.experiments.plots import RevPlots

INDEX = "step"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".gif", ".png", ".svg")
INFERRED_X = "dvc_inferred_x_value"
INFERRED_Y = "dvc_inferred_y_value"
VEGA_FILES = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")


class ConversionError(Exception):
    """A plot definition cannot be turned into datapoints (DVC's DvcException texts)."""


class FieldNotFoundError(ConversionError):
    def __init__(self, expected: str, found: list[str]) -> None:
        super().__init__(
            f"Could not find provided field ('{expected}') in data fields ('{', '.join(found)}')."
        )


# --- datapoints -------------------------------------------------------------------------


def _lists(blob: Any) -> list[list[Any]]:
    if isinstance(blob, list):
        return [blob]
    found: list[list[Any]] = []
    if isinstance(blob, dict):
        for value in blob.values():
            if isinstance(value, dict):
                found.extend(_lists(value))
            elif isinstance(value, list):
                found.append(value)
    return found


def _is_datapoints(items: list[Any]) -> bool:
    if not items or not all(isinstance(item, dict) for item in items):
        return False
    return set(items[0]) == set().union(*items)


def datapoints_of(content: Any) -> list[dict[str, Any]]:
    """Rows of a plot file: every list of uniform records, merged row by row."""
    found = [items for items in _lists(content) if _is_datapoints(items)]
    if len(found) == 1:
        return found[0]  # shared with the parsed file: callers copy before changing rows
    rows: list[dict[str, Any]] = []
    for items in found:
        for index, point in enumerate(items):
            if len(rows) <= index:
                rows.append({})
            rows[index].update(point)
    return rows


def _file_fields(*axes: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for axis in axes:
        if isinstance(axis, dict):
            for file, value in axis.items():
                if isinstance(value, str):
                    pairs.append((file, value))
                elif isinstance(value, list):
                    pairs.extend((file, v) for v in value)
    return pairs


def _infer_props(plot_id: str, props: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """x and y as {file: field}, and the axis labels, filled in where the definition is silent."""
    x, y = props.get("x"), props.get("y")
    inferred: dict[str, Any] = {}
    if isinstance(x, str):
        if isinstance(y, dict):
            inferred["x"] = {
                f: [x] * len(fields) if isinstance(fields, list) else x for f, fields in y.items()
            }
        else:
            inferred["x"] = {plot_id: x}
    if y is None:
        inferred["y"] = None
        for items in _lists(data.get(plot_id, {})) if plot_id in data else []:
            if items and all(isinstance(i, dict) for i in items):
                inferred["y"] = {plot_id: list(items[0])[-1]}
                break
    elif not isinstance(y, dict):
        inferred["y"] = {plot_id: y}
    merged = {**props, **inferred}
    merged["y_label"] = _axis_label(merged, "y")
    merged["x_label"] = _axis_label(merged, "x")
    return merged


def _axis_label(props: dict[str, Any], axis: str) -> Any:
    label = props.get(f"{axis}_label")
    if label is not None:
        return label
    value = props.get(axis)
    if axis == "y" and isinstance(value, str):
        return value
    if axis == "y" and isinstance(value, list):
        return "y"
    if not isinstance(value, dict):
        return INDEX if axis == "x" else None
    fields = {f for _, f in _file_fields(value)}
    return next(iter(fields)) if len(fields) == 1 else axis


def _verified(pairs: list[tuple[str, str]], rows: dict[str, list[dict[str, Any]]]) -> None:
    for file, fld in pairs:
        if file in rows and rows[file] and fld not in rows[file][0]:
            raise FieldNotFoundError(fld, list(rows[file][0]))
        if file in rows and not rows[file]:
            raise ConversionError("argument of type 'NoneType' is not iterable")


def _copy_field(
    target: list[dict[str, Any]], name: str, source: list[dict[str, Any]], source_field: str
) -> None:
    if len(source) != len(target):
        raise IndexError
    for point, src in zip(target, source, strict=True):
        if source_field in src:
            point[name] = src[source_field]


def vega_datapoints(
    plot_id: str, props: dict[str, Any], data: dict[str, Any], rev: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Flat datapoints of one revision (with rev, filename, field) and the final properties."""
    props = _infer_props(plot_id, props, data)
    rows = {file: datapoints_of(content) for file, content in data.items()}
    xs = _file_fields(props.get("x"))
    _verified(xs, rows)
    x_file, x_field = xs[0] if xs else (None, INDEX)
    multiple_x = len(xs) > 1 and len({f for _, f in xs}) > 1
    update: dict[str, Any] = {"x": INFERRED_X if multiple_x else x_field}
    ys = _file_fields(props.get("y"))
    _verified(ys, rows)
    if len(xs) > 1 and len(xs) != len(ys):
        raise ConversionError(
            "Cannot have different number of x and y data sources. Found "
            f"{len(xs)} x and {len(ys)} y data sources."
        )
    y_fields = list(dict.fromkeys(f for _, f in ys))
    y_files = list(dict.fromkeys(f for f, _ in ys))
    update["y"] = INFERRED_Y if len(y_fields) > 1 else (y_fields[0] if y_fields else None)
    prefix = len(os.path.commonpath(y_files)) if len(y_files) > 1 else 0

    def short(file: str) -> str:
        return file[prefix:].strip("/\\")

    update["anchors_y_definitions"] = [{"filename": short(f), "field": fld} for f, fld in ys]
    points: list[dict[str, Any]] = []
    for i, (y_file, y_field) in enumerate(ys):
        if len(xs) > 1:
            x_file, x_field = xs[i]
        series = [dict(p) for p in rows.get(y_file, [])]
        if update["y"] == INFERRED_Y:
            for p in series:
                if y_field in p:
                    p[INFERRED_Y] = p[y_field]
        if x_field == INDEX and x_file is None:
            for index, p in enumerate(series):
                p[INDEX] = index
        else:
            try:
                _copy_field(
                    series,
                    INFERRED_X if multiple_x else x_field,
                    rows.get(x_file or "", []),
                    x_field,
                )
            except IndexError:
                raise ConversionError(
                    f"Cannot join '{x_field}' from '{x_file}' and "
                    f"'{y_field}' from '{y_file}'. They have to have same length."
                ) from None
        tag = {"rev": rev, "filename": short(y_file), "field": y_field}
        for p in series:
            p.update(tag)
        points.extend(series)
    if not points:
        return [], {}
    return points, {**props, **update}


# --- renderers --------------------------------------------------------------------------


@dataclass
class ImageFile:
    """An image to write next to the output (its datapoint's `src` names it)."""

    path: str
    data: bytes


@dataclass
class PlotRender:
    """One plot: its dvc-render renderer and the errors met while building it."""

    renderer: Renderer
    source_errors: dict[str, dict[str, Exception]] = field(default_factory=dict)
    definition_errors: dict[str, Exception] = field(default_factory=dict)


def group_definitions(
    revs: list[RevPlots],
) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """plot id -> [(rev, id inside its config file, definition)]; an id defined in several
    config files gets the `config::id` form."""
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for rev in revs:
        by_config: dict[str, dict[str, dict[str, Any]]] = {}
        for config, defs in rev.definitions.items():
            for plot_id, props in defs.items():
                by_config.setdefault(plot_id, {})[config] = props
        for plot_id, configs in by_config.items():
            for config, props in configs.items():
                key = plot_id if len(configs) == 1 or not config else f"{config}::{plot_id}"
                groups.setdefault(key, []).append((rev.rev, plot_id, props))
    return groups


def _image_points(
    inner_id: str, data: dict[str, Any], rev: str, out: str | None, images: list[ImageFile]
) -> list[dict[str, Any]]:
    import base64

    points = []
    for filename, blob in data.items():
        if out:
            path = os.path.join(os.path.abspath(out), f"{rev}_{filename}".replace("/", "_"))
            images.append(ImageFile(path, blob))
            src = path
        else:
            src = "data:image;base64," + base64.b64encode(blob).decode()
        points.append({"rev": rev, "filename": filename, "src": src})
    return points


def build_renderers(
    revs: list[RevPlots], out: str | None, templates_dir: str | None
) -> tuple[list[PlotRender], list[ImageFile]]:
    """DVC's renderers for every plot id, and the image files they refer to."""
    from dvc_render import ImageRenderer
    from dvc_render.exceptions import DvcRenderError

    from xpt.errors import XptError

    by_rev = {r.rev: r for r in revs}
    renders: list[PlotRender] = []
    images: list[ImageFile] = []
    for plot_id, group in group_definitions(revs).items():
        props: dict[str, Any] = {}
        for _rev, _inner, definition in reversed(group):
            props = {**props, **definition}
        if out is not None:
            props["out"] = out
        if templates_dir is not None:
            props["template_dir"] = templates_dir
        render = PlotRender(renderer=None)  # type: ignore[arg-type]
        points: list[dict[str, Any]] = []
        first: dict[str, Any] = {}
        with_points: list[str] = []
        is_image = False
        for rev, inner_id, definition in group:
            rp = by_rev[rev]
            sources = _sources_of(inner_id, definition)
            data = {s: rp.sources[s] for s in sources if rp.sources.get(s)}
            for s in sources:
                if s in rp.source_errors:
                    render.source_errors.setdefault(rev, {})[s] = rp.source_errors[s]
            is_image = inner_id.lower().endswith(IMAGE_EXTENSIONS)
            try:
                if is_image:
                    dps, rev_props = _image_points(inner_id, data, rev, out, images), props
                else:
                    dps, rev_props = vega_datapoints(inner_id, props, data, rev)
            except (ConversionError, TypeError, ValueError, KeyError, AttributeError) as exc:
                render.definition_errors[rev] = exc
                continue
            if dps and rev not in with_points:
                with_points.append(rev)
            if not first and rev_props:
                first = dict(rev_props)
            points.extend(dps)
        name = group[-1][1] if is_image else plot_id
        first.setdefault("title", name)
        if with_points:
            first["revs_with_datapoints"] = with_points
        try:
            cls = ImageRenderer if is_image else _OfflineVega
            render.renderer = cls(points, name, **first)
        except (DvcRenderError, XptError) as exc:
            raise XptError(
                f"plot '{name}': {exc}", hint="see `xpt plots templates` for the built-in ones"
            ) from exc
        renders.append(render)
    return renders, images


def _sources_of(plot_id: str, props: dict[str, Any]) -> list[str]:
    from xpt.experiments.plots import data_sources

    return data_sources(plot_id, props)


def _encode(exc: Exception) -> dict[str, str]:
    return {"type": getattr(exc, "type_name", type(exc).__name__), "msg": str(exc)}


def to_json(
    renders: list[PlotRender], split: bool, rev_errors: dict[str, Exception]
) -> dict[str, Any]:
    """The `plots show/diff --json` document (DVC's schema; empty parts left out)."""
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for render in renders:
        r = render.renderer
        name = r.name
        if r.TYPE == "vega":
            if not r.datapoints:
                data[name] = []
            else:
                if split:
                    content, extra = r.get_partial_filled_template()
                else:
                    content, extra = r.get_filled_template(), {}
                data[name] = [
                    {"type": "vega", "revisions": r.get_revs(), "content": content, **extra}
                ]
        else:
            data[name] = [
                {"type": "image", "revisions": [p.get("rev")], "url": p.get("src")}
                for p in r.datapoints
            ]
        for rev, per_source in render.source_errors.items():
            for source, exc in per_source.items():
                errors.append({"name": name, "rev": rev, "source": source, **_encode(exc)})
        for rev, exc in render.definition_errors.items():
            errors.append({"name": name, "rev": rev, **_encode(exc)})
    errors.extend({"rev": rev, **_encode(exc)} for rev, exc in rev_errors.items())
    result: dict[str, Any] = {}
    if errors:
        result["errors"] = errors
    if data:
        result["data"] = data
    return result


# --- the HTML page ----------------------------------------------------------------------


def _vega_renderer_class() -> type:
    from dvc_render import VegaRenderer

    class OfflineVega(VegaRenderer):  # type: ignore[misc,valid-type]
        """DVC's Vega renderer with scripts from this package, drawn as SVG."""

        DIV = """
    <div id = "{id}">
        <script type = "text/javascript">
            var spec = {partial};
            window.xptPlots = (window.xptPlots || []).concat(
                [vegaEmbed('#{id}', spec, {{renderer: 'svg'}})]);
        </script>
    </div>
    """
        SCRIPTS = "<!-- xpt: vega scripts -->"

        def partial_html(self, **kwargs: Any) -> str:
            # "</" inside a <script> element would end it early
            return json.dumps(self.get_filled_template()).replace("</", "<\\/")

    return OfflineVega


class _LazyVega:
    """Builds the renderer subclass on first use, so dvc_render loads only for plots."""

    _cls: type | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _LazyVega._cls is None:
            _LazyVega._cls = _vega_renderer_class()
        return _LazyVega._cls(*args, **kwargs)


_OfflineVega = _LazyVega()


def vega_scripts() -> str:
    """The bundled Vega libraries, inline (licences in xpt/report/vega/)."""
    parts = []
    base = resources.files("xpt.report") / "vega"
    for name in VEGA_FILES:
        code = (base / name).read_text(encoding="utf-8").replace("</script", "<\\/script")
        parts.append(f'<script type="text/javascript">/* {name} */\n{code}\n</script>')
    return "\n".join(parts)


def _image_order(render: PlotRender) -> tuple[Any, ...]:
    r = render.renderer
    if r.TYPE != "image":
        return (False, "", -1, "")
    stem = posixpath.splitext(posixpath.basename(r.name))[0]
    return (True, posixpath.dirname(r.name), int(stem) if stem.isdigit() else -1, r.name)


def html_page(renders: list[PlotRender], index_path: str, template: str | None) -> str:
    """The plots page: DVC's layout (vega plots, then images), libraries inline."""
    from dvc_render.exceptions import DvcRenderError
    from dvc_render.html import HTML

    from xpt.errors import XptError

    try:
        page = HTML(template)
    except DvcRenderError as exc:
        raise XptError(str(exc), hint="put {plot_divs} (and {scripts}) in the template") from None
    page.with_scripts(vega_scripts())
    for render in sorted(renders, key=_image_order):
        page.with_element(render.renderer.generate_html(html_path=index_path))
    return str(page.embed())
