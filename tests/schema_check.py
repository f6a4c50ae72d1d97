"""Checking generated Kubernetes objects the way the API server would.

- Kueue objects: against the CRDs' OpenAPI v3 schemas in ../shared/data/kueue (read at test time),
  converted to JSON Schema: unknown fields are errors (kubectl's strict field validation),
  `x-kubernetes-int-or-string` is integer or string, and every `x-kubernetes-validations` CEL rule that
  does not compare with the old object is evaluated (with the `cel` package).
- Core objects: against the `kubernetes` client's models: every key must be a field of the model,
  recursively, and the model must build from it (required fields present).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

KUEUE_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "kueue"
CRD_FILES = {"ResourceFlavor": "resourceflavors", "ClusterQueue": "clusterqueues", "Cohort": "cohorts",
             "LocalQueue": "localqueues", "WorkloadPriorityClass": "workloadpriorityclasses"}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def kueue_dir() -> Path | None:
    return KUEUE_DIR if KUEUE_DIR.is_dir() else None


def _strict(schema: dict) -> dict:
    """OpenAPI v3 (structural) -> JSON Schema with unknown fields rejected."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if "properties" in out:
        out["properties"] = {k: _strict(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _strict(out["additionalProperties"])
    if "items" in out:
        out["items"] = _strict(out["items"])
    for key in ("anyOf", "allOf", "oneOf"):
        if key in out:
            out[key] = [_strict(s) for s in out[key]]
    return out


@cache
def crd_schema(kind: str, version: str = "v1beta2") -> dict:
    doc = yaml.safe_load((KUEUE_DIR / f"kueue.x-k8s.io_{CRD_FILES[kind]}.yaml").read_text(encoding="utf-8"))
    ver = next(v for v in doc["spec"]["versions"] if v["name"] == version)
    return ver["schema"]["openAPIV3Schema"]


def _cel_errors(schema: dict, value, path: str) -> list[str]:
    """Evaluate the CEL rules on this node and below (transition rules, which need oldSelf, are skipped)."""
    import cel
    errors = []
    for rule in schema.get("x-kubernetes-validations", []):
        if "oldSelf" in rule["rule"]:
            continue
        try:
            ok = cel.evaluate(rule["rule"], {"self": value})
        except Exception as exc:  # a rule the evaluator cannot run is a test failure too
            errors.append(f"{path}: rule {rule['rule']!r} could not be evaluated: {exc}")
            continue
        if ok is not True:
            errors.append(f"{path}: {rule.get('message') or rule['rule']}")
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                errors += _cel_errors(sub, value[key], f"{path}.{key}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, v in value.items():
                errors += _cel_errors(extra, v, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            errors += _cel_errors(schema["items"], v, f"{path}[{i}]")
    return errors


def kueue_errors(obj: dict) -> list[str]:
    """Everything the Kueue CRD schema (and its CEL rules) would reject in `obj`."""
    import jsonschema
    api, kind = obj.get("apiVersion", ""), obj.get("kind")
    version = api.split("/")[-1]
    schema = crd_schema(kind, version)
    validator = jsonschema.Draft7Validator(_strict(schema))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
    errors += _cel_errors(schema, obj, kind)
    name = (obj.get("metadata") or {}).get("name", "")
    if not DNS_SUBDOMAIN.match(name) or len(name) > 253:
        errors.append(f"metadata.name {name!r} is not a DNS subdomain")
    return errors


def core_errors(obj: dict, type_name: str | None = None) -> list[str]:
    """Keys of `obj` that the kubernetes client's model does not have, recursively; and build errors."""
    from kubernetes import client
    type_name = type_name or f"{obj['apiVersion'].split('/')[-1].capitalize()}{obj['kind']}"
    errors = _model_keys(obj, type_name, type_name, client)
    try:
        client.ApiClient()._ApiClient__deserialize(obj, type_name)
    except (ValueError, TypeError) as exc:
        errors.append(f"{type_name}: {exc}")
    return errors


def _model_keys(value, type_name: str, path: str, client) -> list[str]:
    if value is None:
        return []
    m = re.fullmatch(r"(?:list|List)\[(.*)\]", type_name)
    if m:
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [e for i, v in enumerate(value) for e in _model_keys(v, m.group(1), f"{path}[{i}]", client)]
    m = re.fullmatch(r"dict\(([^,]*), (.*)\)|Dict\[([^,]*), (.*)\]", type_name)
    if m:
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping"]
        inner = m.group(2) or m.group(4)
        return [e for k, v in value.items() for e in _model_keys(v, inner, f"{path}.{k}", client)]
    scalar = {"str": str, "int": int, "bool": bool, "float": (int, float), "datetime": str, "date": str}
    if type_name in scalar:
        ok = isinstance(value, scalar[type_name]) and not (type_name == "int" and isinstance(value, bool))
        return [] if ok else [f"{path}: expected {type_name}, got {type(value).__name__}"]
    if type_name in ("object", "Any"):
        return []
    model = getattr(client, type_name)
    if not isinstance(value, dict):
        return [f"{path}: expected a {type_name} mapping"]
    by_json = {j: a for a, j in model.attribute_map.items()}
    errors = [f"{path}.{k}: not a field of {type_name}" for k in value if k not in by_json]
    for k, v in value.items():
        if k in by_json:
            errors += _model_keys(v, model.openapi_types[by_json[k]], f"{path}.{k}", client)
    return errors
