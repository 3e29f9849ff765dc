"""Spec items -> models: scopes and default names, `inputs` wiring, templates, blocks flattened to
named nodes, and the layer budget enforced before expansion; each model is validated (its shapes
inferred once) as it is made."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

from ..errors import LayerError, SpecError, did_you_mean
from ..graph import INPUT, MAX_ELEMENTS, Model, Node, validate
from ..layers import ALIASES, LAYERS, Shape, make_layer, spec_keys
from ..layers.base import key_choices
from .budget import MAX_NESTING, MAX_PATH
from .expr import Substituter
from .grammar import BLOCKS, COMMON_KEYS, MODEL_KEYS, TEMPLATE_KEYS, TOP_KEYS
from .problems import Abort, Problems, count_of_layers, describe, short
from .synonyms import type_hint
from .values import KIND_HINTS, ValueReader
from .yaml_tree import INVALID, Y

_NAME_RE = re.compile(r"[^/\s]+\Z")


# How a list is written, for a problem where a mapping was given instead.
LIST_FORM = "one '- {type: conv, filters: 16, kernel: 1}' item per layer, or [{type: ...}, {type: ...}]"
BRANCHES_FORM = ("one layer list per branch, e.g. branches: [[{type: conv, filters: 64, kernel: 1}], "
                 "[{type: maxpool, kernel: 3, stride: 1, padding: 1}]]")


def layer_keys(cls: type) -> tuple[str, ...]:
    """Every key a layer of this class accepts."""
    return COMMON_KEYS + tuple(spec_keys(cls))


def visible(text: str) -> bool:
    """Whether a text shows anything: a character that is printable, not blank and not a format
    character (a zero-width space alone is no name). Control characters it may also hold are
    escaped wherever the text is shown."""
    from unicodedata import category

    return any(c.isprintable() and not c.isspace() and category(c) != "Cf" for c in text)


def visible_name(name: str) -> bool:
    """A layer name: no '/' and no blanks, something visible, and not 'input'."""
    return bool(_NAME_RE.match(name)) and visible(name) and name != INPUT


class Scope:
    """Names visible in one layer list; lookups fall back to the enclosing lists."""

    __slots__ = ("prefix", "input", "names", "counters", "parent")

    def __init__(self, prefix: str, input_node: str, parent: Scope | None):
        self.prefix = prefix
        self.input = input_node
        self.names: dict[str, str] = {}
        self.counters: dict[str, int] = {}
        self.parent = parent

    def lookup(self, name: str) -> str | None:
        scope: Scope | None = self
        while scope is not None:
            if name == INPUT:
                return scope.input
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def visible(self) -> list[str]:
        out: list[str] = [INPUT]
        scope: Scope | None = self
        while scope is not None:
            out.extend(scope.names)
            scope = scope.parent
        return out


class Template:
    __slots__ = ("name", "params", "layers")

    def __init__(self, name: str, params: dict[str, Y | None], layers: Y):
        self.name = name
        self.params = params  # None: required
        self.layers = layers


class SpecReader(ValueReader):
    def __init__(self, path: str, max_layers: int):
        self.path = path
        self.max_layers = max_layers
        self.problems = Problems(path)
        self.notes: list[str] = []  # remarks that do not make the spec invalid (stderr, exit status unchanged)
        self.title = ""  # the file's name: its top-level `name`, or its stem
        self.description = ""  # its top-level `description`
        self.templates: dict[str, Template] = {}
        self.nodes: list[Node] = []
        self.node_count = 0  # over all models of the file: the layer limit bounds the whole file
        self.models_read = 0
        self.expanding: list[str] = []
        self.nesting = 0  # layer lists being expanded inside each other
        self.shared = False  # the YAML uses aliases: lists may be expanded many times over
        self.sizes: dict[int, tuple[Y, int]] = {}  # id -> (Y kept alive so the id stays unique, size)
        self.top_input_given = False
        self.where = ""  # " (in template 'x' used at L:C)" while expanding a template

    # -- reporting and typed values

    def error(self, at: Y | tuple[int, int], message: str) -> None:
        line, col = (at.line, at.col) if isinstance(at, Y) else at
        self.problems.add(line, col, message + self.where)

    # -- file and models

    def read(self, root: Y) -> list[Model]:
        top = self.expect_map(root, "the top level of a spec")
        if top is None:
            return []
        self.check_keys(root, TOP_KEYS, "the spec")
        stem = Path(self.path).stem if not self.path.startswith("<") else self.path.strip("<>")
        self.title = stem
        if "name" in top and isinstance(top["name"].value, str):
            self.title = top["name"].value
        if "description" in top and isinstance(top["description"].value, str):
            self.description = top["description"].value
        if "blocks" in top:
            self.read_templates(top["blocks"])
        self.top_input_given = "input" in top
        default_input = self.read_input(top["input"]) if self.top_input_given else None
        if "layers" in top and "models" in top:
            self.error(self.key_pos(root, "models"), "a spec has 'layers' or 'models', not both; "
                                                     "move the top-level layers into a model")
            return []
        if "models" in top:
            items = self.expect_list(top["models"], "'models'")
            if items is None:
                return []
            if not items:
                self.error(top["models"], "'models' is empty; add at least one model")
            if "name" in top:
                self.expect_str(top["name"], "'name'")
            if "description" in top:
                self.expect_str(top["description"], "'description'")
            models = []
            seen: dict[str, int] = {}
            for i, item in enumerate(items, 1):
                if self.expect_map(item, "each model") is None:
                    continue
                self.check_keys(item, MODEL_KEYS, "a model")
                model = self.read_model(item, f"{stem}-{i}", default_input)
                if model:
                    if model.name in seen:
                        at = item.value.get("name", item)
                        self.error(at, f"duplicate model name '{short(model.name)}' (first at line "
                                       f"{seen[model.name]}); give each model its own name")
                        continue
                    seen[model.name] = item.value.get("name", item).line
                    models.append(model)
            return models
        if "layers" not in top:
            self.error(root, "the spec has no 'layers' list (or 'models' list); add one")
            return []
        model = self.read_model(root, stem, default_input, top_level=True)
        return [model] if model else []

    def read_input(self, y: Y) -> Shape | None:
        if isinstance(y.value, list):
            if len(y.value) != 3:
                self.error(y, f"input must be [height, width, channels], got a list of {len(y.value)}")
                return None
            dims = [self.expect_int(v, "each input size") for v in y.value]
        elif isinstance(y.value, dict):
            self.check_keys(y, ("height", "width", "channels"), "input")
            dims = []
            for k in ("height", "width", "channels"):
                if k not in y.value:
                    self.error(y, f"input needs '{k}'")
                    dims.append(INVALID)
                else:
                    dims.append(self.expect_int(y.value[k], f"input {k}"))
        else:
            if y.value is not INVALID:
                self.error(y, f"input must be [height, width, channels], got {describe(y.value)}")
            return None
        if INVALID in dims:
            return None
        shape = Shape(*dims)
        if shape.elements >= MAX_ELEMENTS:
            self.error(y, f"input {shape} has 10^18 elements or more; no network needs so large an input")
            return None
        c, h, w = dims
        if h == w != c and isinstance(y.value, list):
            # PyTorch's (C, H, W) habit: [256, 28, 28] would be a 256x28 map of 28 channels.
            self.notes.append(f"{self.path}:{y.line}:{y.col}: note: input [{c}, {h}, {w}] is read as height {c}, "
                              f"width {h}, channels {w} ([H, W, C]); if you meant channels first, write "
                              f"input: [{h}, {w}, {c}]")
        return shape

    def read_model(self, y: Y, default_name: str, default_input: Shape | None,
                   top_level: bool = False) -> Model | None:
        m = y.value
        before = len(self.problems)
        name = self.expect_str(m["name"], "'name'") if "name" in m else default_name
        if name is not INVALID and not visible(name):
            self.error(m["name"], f"model name '{short(name)}' shows nothing; give the model a visible name")
            name = INVALID
        description = self.expect_str(m["description"], "'description'") if "description" in m else ""
        # At the top level, 'input' was read once as the default for every model.
        shape = self.read_input(m["input"]) if "input" in m and not top_level else default_input
        if shape is None and "input" not in m and not self.top_input_given:
            self.error(y, f"model '{short(str(name))}' has no 'input'; add input: [height, width, channels]")
        if "layers" not in m:
            self.error(y, f"model '{short(str(name))}' has no 'layers'; add a list of layers")
            return None
        self.nodes = []
        if self.shared or self.templates:
            # Aliases and templates can describe a huge model in a few lines: refuse it before
            # expanding rather than after a million layers.
            at_least = self.size_of_list(m["layers"], 0)
            if self.node_count + at_least > self.max_layers:
                self.too_many_layers(m["layers"], "'layers'")
        scope = Scope("", INPUT, None)
        self.expand_list(m["layers"], scope, "'layers'")
        self.models_read += 1
        if len(self.problems) > before or shape is None or name is INVALID:
            return None
        try:
            return validate(Model(str(name), shape, tuple(self.nodes),
                                  "" if description is INVALID else str(description), self.path))
        except SpecError as exc:
            for p in exc.problems:
                self.problems.add(p.line, p.col, p.message)
            return None

    def read_templates(self, y: Y) -> None:
        defs = self.expect_map(y, "'blocks'")
        if defs is None:
            return
        for tname, body in defs.items():
            at = self.key_pos(y, tname)
            if tname in LAYERS or tname in ALIASES or tname in BLOCKS:
                self.error(at, f"template name '{tname}' is a built-in layer type; choose another name")
                continue
            if len(tname) > MAX_PATH:
                self.error(at, f"template name '{short(tname)}' is {len(tname):,} characters long; "
                               f"template names have at most {MAX_PATH}")
                continue
            if self.expect_map(body, f"template '{tname}'") is None:
                continue
            self.check_keys(body, TEMPLATE_KEYS, f"template '{tname}'")
            params: dict[str, Y | None] = {}
            if "params" in body.value:
                pmap = self.expect_map(body.value["params"], f"'params' of template '{tname}'")
                for pname, default in (pmap or {}).items():
                    params[pname] = None if default.value is None else default
            if "layers" not in body.value:
                self.error(body, f"template '{tname}' has no 'layers'")
                continue
            layers = body.value["layers"]
            if isinstance(layers.value, list) and not layers.value:
                # An empty template would expand to nothing, so using it could never reach a limit.
                self.error(layers, f"template '{tname}' has an empty 'layers' list; add its layers")
            self.templates[tname] = Template(tname, params, layers)

    # -- layer lists

    def expand_list(self, y: Y, scope: Scope, what: str) -> str:
        """Turn one layer list into nodes; return the node name of its output."""
        items = self.expect_list(y, what, LIST_FORM)
        if items is None:
            return scope.input
        if self.nesting >= MAX_NESTING:
            # Templates can nest without deep YAML; this keeps Python's recursion shallow.
            self.error(y, f"blocks and templates are nested more than {MAX_NESTING} deep here; "
                          "flatten the structure")
            return scope.input
        self.nesting += 1
        try:
            return self.expand_items(items, scope)
        finally:
            self.nesting -= 1

    def expand_items(self, items: list[Y], scope: Scope) -> str:
        later: dict[str, Y] = {}
        for item in items:
            if isinstance(item.value, dict) and isinstance(item.value.get("name", Y(None, 0, 0)).value, str):
                later.setdefault(item.value["name"].value, item)
        current = scope.input
        for item in items:
            name_y = item.value.get("name") if isinstance(item.value, dict) else None
            if name_y is not None and isinstance(name_y.value, str):
                if later.get(name_y.value) is item:
                    del later[name_y.value]
            current = self.expand_item(item, scope, current, later)
        return current

    def expand_item(self, y: Y, scope: Scope, previous: str, later: dict[str, Y]) -> str:
        if self.expect_map(y, "each layer (like {type: conv, filters: 16, kernel: 1})") is None:
            return previous
        item = y.value
        if "type" not in item:
            self.error(y, "layer has no 'type'; add one, e.g. type: conv")
            return previous
        type_name = self.expect_str(item["type"], "'type'")
        if type_name is INVALID:
            return previous
        canon = ALIASES.get(type_name, type_name)
        known = canon in LAYERS or canon in BLOCKS or canon in self.templates
        # Count every item of a type, named or not, so default names follow positions.
        n = scope.counters[canon] = scope.counters.get(canon, 0) + 1
        local, named = self.local_name(y, canon, n, scope)
        full = scope.prefix + local if local else ""
        if local:
            scope.names[local] = full
        if not known:
            choices = list(LAYERS) + list(ALIASES) + list(BLOCKS) + list(self.templates)
            hint = type_hint(type_name) or did_you_mean(type_name, choices) or "; see the layer table in the README"
            self.error(item["type"], f"unknown layer type '{short(type_name)}'{hint}")
            return full or previous
        if len(full) > MAX_PATH:
            # Paths are stored per layer: a long name repeated a million times would fill memory.
            self.error(item.get("name", y), f"layer path '{short(full)}' is {len(full):,} characters long "
                                            f"(at most {MAX_PATH}); use shorter names or less nesting")
            return previous
        inputs = self.read_inputs(y, scope, previous, later, full)
        if canon in LAYERS:
            self.add_layer(y, canon, full, inputs, named)
            return full or previous
        if canon in BLOCKS:
            out = getattr(self, f"add_{canon}")(y, full, inputs, scope, named)
            if BLOCKS[canon].merges:  # referred to by its merge node, which is named after it
                return full or previous
        else:
            out = self.add_template(y, self.templates[canon], full, inputs, scope)
        # A repeat or a template is referred to by its last layer.
        if local and out:
            scope.names[local] = out
        return out or full

    def local_name(self, y: Y, canon: str, n: int, scope: Scope) -> tuple[str, bool]:
        """The item's name in its list ('' if it has none it may use), and whether the spec gave it."""
        item = y.value
        if "name" in item:
            name = self.expect_str(item["name"], "'name'")
            if name is INVALID:
                return "", True
            if not visible_name(name):
                self.error(item["name"], f"layer name '{short(name)}' is not allowed; names are non-empty, "
                                         "without '/' or spaces, with a visible character, and not 'input'")
                return "", True
            at, named = item["name"], True
        else:
            name, at, named = f"{canon}{n}", y, False
        if name in scope.names:
            self.error(at, f"duplicate layer name '{short(name)}' in this list; give each layer its own name")
            return "", named
        return name, named

    def read_inputs(self, y: Y, scope: Scope, previous: str, later: dict[str, Y],
                    own: str = "") -> tuple[str, ...] | None:
        if "inputs" not in y.value:
            return (previous,)
        iy = y.value["inputs"]
        raw = [iy] if isinstance(iy.value, str) else self.expect_list(iy, "'inputs'")
        if raw is None:
            return None
        if not raw:
            self.error(iy, "'inputs' is empty; name one or more earlier layers")
            return None
        out: list[str] = []
        for ref in raw:
            name = self.expect_str(ref, "each name in 'inputs'")
            if name is INVALID:
                return None
            found = scope.lookup(name)
            if found is not None and found == own:
                self.error(ref, f"'inputs' names '{short(name)}', the layer itself; a layer can only read "
                                "earlier layers")
                return None
            if found is None:
                if name in later:
                    self.error(ref, f"'inputs' names '{short(name)}', which comes later (line {later[name].line}); "
                                    "a layer can only read earlier layers")
                else:
                    self.error(ref, f"'inputs' names unknown layer '{short(name)}'{did_you_mean(name, scope.visible())}")
                return None
            out.append(found)
        return tuple(out)

    def add_node(self, node: Node) -> None:
        self.node_count += 1
        if self.node_count > self.max_layers:
            what = "the model expands" if not self.models_read else "the models of this spec expand together"
            self.error((node.line, node.col), f"{what} to more than {self.max_layers:,} layers; "
                                              "reduce 'times' in repeats or raise --max-layers")
            raise Abort
        self.nodes.append(node)

    def too_many_layers(self, at: Y, subject: str, detail: str = "") -> NoReturn:
        together = " with the models before it" if self.models_read else ""
        self.error(at, f"{subject} expands to more than {self.max_layers:,} layers{together}{detail}; reduce "
                       "'times' in repeats or the uses of templates and aliases, or raise --max-layers")
        raise Abort

    # -- lower bounds of the size of a model, to refuse a huge one before expanding it

    def size_of_list(self, y: Y, depth: int) -> int:
        """Layers that a valid layer list makes at least; saturates just above the limit."""
        if not isinstance(y.value, list):
            return 0
        known = self.sizes.get(id(y))
        if known is not None:
            return known[1]
        total = 0
        if depth <= MAX_NESTING:  # deeper lists count 0: still a lower bound
            cap = self.max_layers + 1
            for item in y.value:
                total += self.size_of_item(item, depth)
                if total >= cap:
                    total = cap
                    break
        self.sizes[id(y)] = (y, total)
        return total

    def size_of_item(self, y: Y, depth: int) -> int:
        item = y.value
        if not isinstance(item, dict) or "type" not in item or not isinstance(item["type"].value, str):
            return 0
        canon = ALIASES.get(item["type"].value, item["type"].value)
        if canon in LAYERS:
            return 1
        depth += 1
        block = BLOCKS.get(canon)
        if block is not None:
            total = 1 if block.merges else 0
            for key in block.keys:
                if key.name not in item:
                    continue
                if key.kind == "layers":
                    total += self.size_of_list(item[key.name], depth)
                elif key.kind == "branches" and isinstance(item[key.name].value, list):
                    total += sum(self.size_of_list(b, depth) for b in item[key.name].value)
            if block.times is not None:
                times = item[block.times].value if block.times in item else None
                if type(times) is not int or times < 1:
                    times = 1 if isinstance(times, str) and "${" in times else 0  # a template parameter
                total = min(times * total, self.max_layers + 1)
            return total
        tpl = self.templates.get(canon)
        if tpl is None or canon in self.expanding:
            return 0
        self.expanding.append(canon)  # a template that uses itself counts 0 here (it is an error)
        try:
            return self.size_of_list(tpl.layers, depth)
        finally:
            self.expanding.pop()

    def add_layer(self, y: Y, canon: str, full: str, inputs: tuple[str, ...] | None, named: bool = True) -> None:
        cls, _ = LAYERS[canon]
        keys = spec_keys(cls)
        item = y.value
        label = f"layer '{full}' ({canon})" if full else f"a {canon} layer"
        self.check_keys(y, layer_keys(cls), label)
        values: dict[str, Any] = {}
        for k, (kind, required) in keys.items():
            if k in item:
                values[k] = self.value_of_kind(kind, item[k], k, label, key_choices(cls).get(k, ()))
            elif required:
                self.error(y, f"{label} needs '{k}'; add {k}: <{KIND_HINTS[kind]}>")
                values[k] = INVALID
        if cls.arity > 1:
            if "inputs" not in item:
                self.error(y, f"{label} needs 'inputs': a list of 2 or more earlier layers")
                return
            if inputs is not None and len(inputs) < 2:
                self.error(item["inputs"], f"{label} needs 2 or more 'inputs', got {len(inputs)}")
                return
        elif inputs is not None and len(inputs) != 1:
            self.error(item["inputs"], f"{label} takes one input, got {len(inputs)}; "
                                       "merge them first with an add or concat layer")
            return
        if inputs is None or not full or INVALID in values.values():
            return
        try:
            layer = make_layer(canon, **values)
        except LayerError as exc:  # keys that do not fit together (upsample's scale and size, say)
            self.error(y, f"{label}: {exc}")
            return
        self.add_node(Node(full, layer, inputs, y.line, y.col, named))

    def block_list(self, y: Y, key: str, label: str, required: bool = True) -> Y | None:
        if key not in y.value:
            if required:
                self.error(y, f"{label} needs '{key}'")
            return None
        return y.value[key]

    def single_input(self, y: Y, inputs: tuple[str, ...] | None, label: str) -> str | None:
        if inputs is None:
            return None
        if len(inputs) != 1:
            self.error(y.value["inputs"], f"{label} takes one input, got {len(inputs)}")
            return None
        return inputs[0]

    def add_parallel(self, y: Y, full: str, inputs: tuple[str, ...] | None, scope: Scope, named: bool) -> None:
        label = f"block '{full}' (parallel)"
        self.check_keys(y, BLOCKS["parallel"].key_names, label)
        source = self.single_input(y, inputs, label)
        merge = "concat"
        if "merge" in y.value:
            merge = self.expect_str(y.value["merge"], "'merge'")
            if merge not in ("concat", "add", INVALID):
                self.error(y.value["merge"], f"'merge' must be concat or add, got '{short(str(merge))}'"
                                             f"{did_you_mean(merge, ('concat', 'add'))}")
                merge = INVALID
        by = self.block_list(y, "branches", label)
        branches = self.expect_list(by, "'branches'", BRANCHES_FORM) if by is not None else None
        if branches is not None and not branches:
            self.error(by, "'branches' is empty; add one layer list per branch")
        if source is None or branches is None or not full:
            return
        outs = []
        for i, branch in enumerate(branches, 1):
            sub = Scope(f"{full}/b{i}/", source, scope)
            outs.append(self.expand_list(branch, sub, f"branch {i} of '{full}'"))
        if merge is not INVALID and branches:
            self.add_node(Node(full, make_layer(merge), tuple(outs), y.line, y.col, named))

    def add_residual(self, y: Y, full: str, inputs: tuple[str, ...] | None, scope: Scope, named: bool) -> None:
        label = f"block '{full}' (residual)"
        self.check_keys(y, BLOCKS["residual"].key_names, label)
        source = self.single_input(y, inputs, label)
        body = self.block_list(y, "body", label)
        shortcut = self.block_list(y, "shortcut", label, required=False)
        if body is not None and isinstance(body.value, list) and not body.value:
            self.error(body, f"{label} has an empty 'body'; add its layers")
            return
        if source is None or body is None or not full:
            return
        body_out = self.expand_list(body, Scope(f"{full}/", source, scope), f"'body' of '{full}'")
        short_out = source
        if shortcut is not None:
            short_out = self.expand_list(shortcut, Scope(f"{full}/shortcut/", source, scope),
                                         f"'shortcut' of '{full}'")
        self.add_node(Node(full, make_layer("add"), (body_out, short_out), y.line, y.col, named))

    def add_repeat(self, y: Y, full: str, inputs: tuple[str, ...] | None, scope: Scope, named: bool
                   ) -> str | None:
        label = f"block '{full}' (repeat)"
        self.check_keys(y, BLOCKS["repeat"].key_names, label)
        source = self.single_input(y, inputs, label)
        times = self.expect_int(y.value["times"], "'times'") if "times" in y.value else None
        if times is None:
            self.error(y, f"{label} needs 'times'")
        body = self.block_list(y, "body", label)
        if body is not None and isinstance(body.value, list) and not body.value:
            self.error(body, f"{label} has an empty 'body'; add its layers")
            return None
        if source is None or body is None or times in (None, INVALID) or not full:
            return None
        at_least = self.size_of_list(body, 0)
        if self.node_count + times * at_least > self.max_layers:
            self.too_many_layers(y, label, f" ({times:,} times a body of at least {count_of_layers(at_least)})")
        current = source
        for i in range(1, times + 1):
            before, nodes_before = len(self.problems), self.node_count
            current = self.expand_list(body, Scope(f"{full}/{i}/", current, scope), f"'body' of '{full}'")
            if len(self.problems) > before:
                break  # the same body would report the same problems again
            made = self.node_count - nodes_before
            if made == 0:
                break  # nothing was added, so every further round would add nothing either
            if i == 1 and self.node_count + made * (times - 1) > self.max_layers:
                # Every round makes as many layers as the first: stop now, not a million layers later.
                self.too_many_layers(y, label, f" ({times:,} times a body of {count_of_layers(made)})")
        return current

    def add_template(self, y: Y, tpl: Template, full: str, inputs: tuple[str, ...] | None,
                     scope: Scope) -> str | None:
        label = f"block '{full}' (template {tpl.name})"
        item = y.value
        args = {k: v for k, v in item.items() if k not in COMMON_KEYS}
        for k in args:
            if k not in tpl.params:
                hint = did_you_mean(k, tpl.params) or (
                    f"; its parameters are: {', '.join(tpl.params)}" if tpl.params else "; it takes no parameters")
                self.error(self.key_pos(y, k), f"template '{tpl.name}' has no parameter '{short(k)}'{hint}")
        env: dict[str, Any] = {}
        for p, default in tpl.params.items():
            if p in args:
                env[p] = args[p]
            elif default is None:
                self.error(y, f"{label} needs parameter '{p}' (the template gives it no default)")
            else:
                env[p] = default
        source = self.single_input(y, inputs, label)
        if tpl.name in self.expanding:
            chain = " -> ".join(self.expanding + [tpl.name])
            self.error(y, f"template '{tpl.name}' uses itself ({chain}); a template cannot contain itself")
            return None
        if source is None or len(env) != len(tpl.params) or not full:
            return None
        if any(v.value is INVALID for v in env.values()):
            return None
        outer = self.where
        self.where = outer or f" (in template '{tpl.name}' used at line {y.line})"
        self.expanding.append(tpl.name)
        try:
            body = Substituter(self.error, {k: v.value for k, v in env.items()}).subst(tpl.layers)
            return self.expand_list(body, Scope(f"{full}/", source, scope), f"'layers' of template '{tpl.name}'")
        finally:
            self.expanding.pop()
            self.where = outer


