"""Kubernetes deployment (deploy/k8s), container image (Dockerfile) and the Job <-> CLI contract.

No cluster is needed: every manifest is validated offline
  * against the Kubernetes JSON schemas vendored by ``kubernetes-validate`` (strict: unknown fields
    are errors), and
  * against the typed models of the ``kubernetes`` Python client (deserialised, and every key
    compared with the model's ``attribute_map`` recursively, since the client drops unknown keys).
The kustomizations are resolved by a small in-test renderer (resources, namespace, images,
strategic-merge and JSON 6902 patches -- the features deploy/k8s uses) so the GPU overlay is checked
as applied; where ``kubectl`` is installed, its ``kubectl kustomize`` output is compared with it.
Every ``python -m ecgcore ...`` a Job runs is parsed with the real CLI parser.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import kubernetes.client
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
NAMESPACE = "ecg-explorer"
IMAGE = "ecg-explorer"
PVC_NAME = "ecg-data"
DATA_MOUNT = "/data"
ECGCORE_ENV = {
    "ECGCORE_DATA_ROOT": "/data/ptbxl",
    "ECGCORE_CACHE_DIR": "/data/cache",
    "ECGCORE_RUNS_DIR": "/data/checkpoints",
}
MODELS = ("cnn1d", "cnn2d")
STAGES = {  # kustomization directory -> what it must contain
    "base": K8S,
    "data": K8S / "jobs" / "data",
    "train": K8S / "jobs" / "train",
    "eval": K8S / "jobs" / "eval",
    "gpu": K8S / "overlays" / "gpu",
}
# Oldest Kubernetes the manifests promise to work on, and the newest schema vendored.
K8S_VERSIONS = ("1.28", "latest")
UID = 1000


# --------------------------------------------------------------------------- loading


def load_yaml(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def yaml_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in K8S.rglob("kustomization.yaml"))


def kustomization(directory: Path) -> dict:
    (doc,) = load_yaml(directory / "kustomization.yaml")
    return doc


def patch_entries(directory: Path) -> list[dict]:
    entries = []
    for entry in kustomization(directory).get("patches", []):
        entries.append({"path": entry} if isinstance(entry, str) else entry)
    return entries


def patch_files() -> set[Path]:
    return {(d / e["path"]).resolve() for d in kustomization_dirs() for e in patch_entries(d) if "path" in e}


def manifest_files() -> list[Path]:
    """Plain Kubernetes objects (not kustomizations, not patches)."""
    skip = patch_files()
    return [p for p in yaml_files() if p.name != "kustomization.yaml" and p.resolve() not in skip]


def objects_in(paths: list[Path]) -> list[tuple[Path, dict]]:
    return [(p, doc) for p in paths for doc in load_yaml(p)]


def all_objects() -> list[tuple[Path, dict]]:
    return objects_in(manifest_files())


def pod_spec(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def argv(container: dict) -> list[str]:
    return [str(a) for a in container.get("command", []) + container.get("args", [])]


# --------------------------------------------------------------------------- typed-model validation


def model_class_name(obj: dict) -> str:
    """``apps/v1`` + ``Deployment`` -> ``V1Deployment`` (the kubernetes client's model name)."""
    version = obj["apiVersion"].split("/")[-1]
    return version[0].upper() + version[1:] + obj["kind"]


_LIST = re.compile(r"^(?:list|List)\[(.+)\]$")
_DICT = re.compile(r"^(?:dict\(str, ?|Dict\[str, ?)(.+)[)\]]$")


def unknown_fields(data, type_name: str, path: str = "") -> list[str]:
    """Keys of ``data`` that the kubernetes client model ``type_name`` does not know, recursively
    (``spec.template.spec.containers[0].volumeMount`` style paths)."""
    if data is None:
        return []
    if m := _LIST.match(type_name):
        if not isinstance(data, list):
            return [f"{path}: expected a list, got {type(data).__name__}"]
        return [e for i, item in enumerate(data) for e in unknown_fields(item, m.group(1), f"{path}[{i}]")]
    if m := _DICT.match(type_name):
        if not isinstance(data, dict):
            return [f"{path}: expected a mapping, got {type(data).__name__}"]
        return [e for k, v in data.items() for e in unknown_fields(v, m.group(1), f"{path}.{k}")]
    cls = getattr(kubernetes.client.models, type_name, None)
    if cls is None:  # primitives, "object" (IntOrString, Quantity...), datetime
        return []
    if not isinstance(data, dict):
        return [f"{path or '<root>'}: expected a {type_name} mapping, got {type(data).__name__}"]
    json_to_attr = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    errors = []
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if key not in json_to_attr:
            errors.append(f"{where}: unknown field for {type_name}")
        else:
            errors += unknown_fields(value, cls.openapi_types[json_to_attr[key]], where)
    return errors


def deserialize(obj: dict):
    """Build the typed object; raises on missing required fields and similar."""
    return kubernetes.client.ApiClient()._ApiClient__deserialize(copy.deepcopy(obj), model_class_name(obj))


def schema_errors(obj: dict) -> list[str]:
    """Strict JSON-schema validation (unknown fields rejected) for every version in K8S_VERSIONS."""
    import kubernetes_validate  # dev dependency: pip install kubernetes-validate

    errors = []
    for version in K8S_VERSIONS:
        version = kubernetes_validate.latest_version() if version == "latest" else version
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path)
            errors.append(f"k8s {version}: {where}: {e.message}")
    return errors


def assert_valid(obj: dict, where: str) -> None:
    problems = schema_errors(obj) + unknown_fields(obj, model_class_name(obj))
    assert not problems, f"{where} {obj.get('kind')}/{obj.get('metadata', {}).get('name')}:\n" + "\n".join(problems)
    deserialize(obj)


# --------------------------------------------------------------------------- mini kustomize


def selector_matches(selector: str, labels: dict) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def target_matches(target: dict, obj: dict) -> bool:
    group, _, version = obj["apiVersion"].rpartition("/")
    meta = obj["metadata"]
    return (
        target.get("kind", obj["kind"]) == obj["kind"]
        and target.get("group", group) == group
        and target.get("version", version) == version
        and target.get("name", meta["name"]) == meta["name"]
        and selector_matches(target.get("labelSelector", ""), meta.get("labels", {}))
    )


def strategic_merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = strategic_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out

    def named(items) -> bool:
        return isinstance(items, list) and all(isinstance(i, dict) and "name" in i for i in items)

    if named(base) and named(patch):
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            idx = next((n for n, b in enumerate(out) if b["name"] == item["name"]), None)
            if idx is None:
                out.append(copy.deepcopy(item))
            else:
                out[idx] = strategic_merge(out[idx], item)
        return out
    return copy.deepcopy(patch)


def json6902(obj: dict, ops: list[dict]) -> dict:
    obj = copy.deepcopy(obj)
    for op in ops:
        assert op["op"] in ("add", "replace"), f"unsupported op in test renderer: {op}"
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            if last == "-":
                node.append(copy.deepcopy(op["value"]))
            elif op["op"] == "add":
                node.insert(int(last), copy.deepcopy(op["value"]))
            else:
                node[int(last)] = copy.deepcopy(op["value"])
        else:
            assert op["op"] == "add" or last in node, f"{op['path']} does not exist"
            node[last] = copy.deepcopy(op["value"])
    return obj


def set_image(image: str, rules: list[dict]) -> str:
    """kustomize ``images:``: match on the name without tag, then replace name and/or tag."""
    name, _, tag = image.partition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    for rule in rules:
        if rule["name"] == name:
            name, tag = rule.get("newName", name), str(rule.get("newTag", tag))
    return f"{name}:{tag}" if tag else name


def render(directory: Path) -> list[dict]:
    """What ``kubectl kustomize <directory>`` produces, for the features deploy/k8s uses."""
    k = kustomization(directory)
    objs: list[dict] = []
    for entry in k.get("resources", []):
        path = (directory / entry).resolve()
        objs += render(path) if path.is_dir() else [copy.deepcopy(d) for d in load_yaml(path)]
    for entry in patch_entries(directory):
        content = load_yaml(directory / entry["path"]) if "path" in entry else yaml.safe_load_all(entry["patch"])
        (patch,) = content
        target = entry.get("target")
        if target is None:  # strategic merge patch naming its target
            target = {"kind": patch["kind"], "name": patch["metadata"]["name"]}
        hits = [i for i, o in enumerate(objs) if target_matches(target, o)]
        assert hits, f"{directory / entry.get('path', '')}: patch target {target} matches no resource"
        for i in hits:
            if isinstance(patch, list):
                objs[i] = json6902(objs[i], patch)
            else:
                body = copy.deepcopy(patch)
                body["metadata"] = {
                    **body.get("metadata", {}),
                    "name": objs[i]["metadata"]["name"],
                }
                objs[i] = strategic_merge(objs[i], body)
    for obj in objs:
        if "namespace" in k and obj["kind"] != "Namespace":
            obj["metadata"]["namespace"] = k["namespace"]
        if obj["kind"] in ("Deployment", "Job"):
            for c in pod_spec(obj).get("containers", []) + pod_spec(obj).get("initContainers", []):
                c["image"] = set_image(c["image"], k.get("images", []))
    return objs


def by_kind_name(objs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


@cache
def rendered(stage: str) -> dict[tuple[str, str], dict]:
    return by_kind_name(render(STAGES[stage]))


# --------------------------------------------------------------------------- CLI argv


def ecgcore_invocations(container: dict) -> list[list[str]]:
    """The argv after ``python -m ecgcore`` of every CLI call the container makes (directly, or in an
    ``sh -c`` script split on ``&&`` / ``;`` / ``||``)."""
    full = argv(container)
    if full[:3] == ["python", "-m", "ecgcore"]:
        return [full[3:]]
    if full and Path(full[0]).name in ("sh", "bash") and "-c" in full:
        script = full[full.index("-c") + 1]
        lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        commands, current = [], []
        for token in lexer:
            if token in ("&&", ";", "||", "|", "&"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
        calls = [c[3:] for c in commands if c[:3] == ["python", "-m", "ecgcore"]]
        assert len(calls) == script.count("ecgcore"), f"unparsed ecgcore call in: {script}"
        return calls
    assert "ecgcore" not in " ".join(full), f"unrecognised ecgcore call: {full}"
    return []


def parse_cli(args: list[str]):
    from ecgcore.__main__ import build_parser

    try:
        return build_parser().parse_args(args)
    except SystemExit as e:  # argparse reports the error on stderr
        pytest.fail(f"`python -m ecgcore {shlex.join(args)}` is rejected by the CLI parser (exit {e.code})")


def jobs(stage: str) -> list[dict]:
    return [o for (kind, _), o in rendered(stage).items() if kind == "Job"]


def only_container(obj: dict) -> dict:
    (container,) = pod_spec(obj)["containers"]
    return container


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


# =========================================================================== tests: files


def test_every_manifest_parses_as_yaml():
    files = yaml_files()
    assert files, "deploy/k8s holds no YAML"
    for path in files:
        docs = load_yaml(path)
        assert docs, f"{path} is empty"
        for doc in docs:
            assert isinstance(doc, (dict, list)), f"{path}: unexpected document {doc!r}"


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_validates_against_kubernetes_schema_and_models(path):
    for doc in load_yaml(path):
        assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{path}: not a Kubernetes object"
        assert "namespace" not in doc["metadata"], f"{path}: leave the namespace to kustomize"
        assert_valid(doc, str(path.relative_to(REPO)))


@pytest.mark.parametrize("stage", STAGES)
def test_rendered_stage_validates(stage):
    objs = render(STAGES[stage])
    assert objs
    for obj in objs:
        assert_valid(obj, f"rendered {stage}")
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE


@pytest.mark.parametrize(
    ("mutate", "bad_field"),
    [
        (
            lambda job: job["spec"].__setitem__("completionMod", job["spec"].pop("completionMode")),
            "spec.completionMod",
        ),
        (
            lambda job: only_container(job).__setitem__("volumeMount", only_container(job).pop("volumeMounts")),
            "spec.template.spec.containers[0].volumeMount",
        ),
        (
            lambda job: only_container(job)["resources"].__setitem__("limit", {"cpu": "1"}),
            "spec.template.spec.containers[0].resources.limit",
        ),
    ],
    ids=["completionMod", "volumeMount", "resources.limit"],
)
def test_validators_reject_misspelled_fields(mutate, bad_field):
    job = copy.deepcopy(rendered("train")[("Job", "train-cnn1d")])
    assert_valid(job, "unchanged train-cnn1d")
    mutate(job)
    assert any(e.startswith(f"{bad_field}:") for e in unknown_fields(job, "V1Job")), unknown_fields(job, "V1Job")
    errors = schema_errors(job)
    assert len(errors) == len(K8S_VERSIONS), errors
    assert all(bad_field.rsplit(".", 1)[-1] in e for e in errors), errors
    # The client itself silently drops unknown keys -- which is why the checks above exist.
    deserialize(job)


def test_validators_reject_wrong_types():
    job = copy.deepcopy(rendered("train")[("Job", "train-cnn1d")])
    job["spec"]["completions"] = "five"
    assert schema_errors(job)


def test_every_manifest_belongs_to_a_kustomization():
    listed: dict[Path, list[Path]] = {}
    for directory in kustomization_dirs():
        k = kustomization(directory)
        assert k["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and k["kind"] == "Kustomization", directory
        assert k.get("namespace") == NAMESPACE, f"{directory}: set namespace: {NAMESPACE}"
        known = {
            "apiVersion",
            "kind",
            "namespace",
            "resources",
            "patches",
            "images",
            "components",
            "labels",
        }
        assert k.keys() <= known, f"{directory}: unexpected keys {k.keys() - known}"
        for entry in k.get("resources", []):
            target = (directory / entry).resolve()
            assert target.exists(), f"{directory}/kustomization.yaml lists missing {entry}"
            if target.is_dir():
                assert (target / "kustomization.yaml").is_file(), f"{entry} is a directory without kustomization.yaml"
            else:
                assert target.is_relative_to(directory), f"{entry}: kustomize only loads files under {directory}"
                listed.setdefault(target, []).append(directory)
        for entry in patch_entries(directory):
            assert "path" in entry, "inline patches are not used here"
            target = (directory / entry["path"]).resolve()
            assert target.is_file(), f"{directory}: patch {entry['path']} is missing"
            listed.setdefault(target, []).append(directory)
    for path in yaml_files():
        if path.name != "kustomization.yaml":
            assert len(listed.get(path.resolve(), [])) == 1, f"{path} must be listed by exactly one kustomization"
    assert set(STAGES.values()) == set(kustomization_dirs())


def test_stages_hold_the_expected_resources():
    assert set(rendered("base")) == {
        ("Namespace", NAMESPACE),
        ("PersistentVolumeClaim", PVC_NAME),
        ("Deployment", "ecg-explorer"),
        ("Service", "ecg-explorer"),
    }
    assert set(rendered("data")) == {("Job", "download-ptbxl")}
    assert set(rendered("train")) == {("Job", f"train-{m}") for m in MODELS}
    assert set(rendered("eval")) == {("Job", "eval")}
    assert set(rendered("gpu")) == set(rendered("train"))


@pytest.mark.parametrize("stage", STAGES)
def test_test_renderer_agrees_with_kubectl_kustomize(stage):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the in-test renderer was checked against kubectl 1.32 / kustomize 5.5")
    out = subprocess.run(
        [kubectl, "kustomize", str(STAGES[stage])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert by_kind_name([d for d in yaml.safe_load_all(out) if d]) == rendered(stage)


# =========================================================================== tests: storage and app


def test_pvc_is_shared_read_write_many():
    pvc = rendered("base")[("PersistentVolumeClaim", PVC_NAME)]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pvc["spec"]["resources"]["requests"]["storage"]
    assert "ReadWriteOnce" in (K8S / "pvc.yaml").read_text(), "explain that RWO is enough on single-node Minikube"


def workloads() -> list[tuple[str, dict]]:
    return [(stage, o) for stage in STAGES for o in rendered(stage).values() if o["kind"] in ("Deployment", "Job")]


def test_every_workload_mounts_the_shared_volume_as_non_root():
    for stage, obj in workloads():
        spec = pod_spec(obj)
        where = f"{stage}: {obj['kind']}/{obj['metadata']['name']}"
        claims = {
            v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"] if "persistentVolumeClaim" in v
        }
        assert set(claims.values()) == {PVC_NAME}, where
        sc = spec["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == UID and sc["fsGroup"] == UID, where
        assert spec.get("automountServiceAccountToken") is False, where
        for c in spec["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert claims.get(mounts.get(DATA_MOUNT)) == PVC_NAME, f"{where}: {PVC_NAME} not mounted at {DATA_MOUNT}"
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert c["image"].split(":")[0] == IMAGE, where
            assert c["imagePullPolicy"] == "IfNotPresent", f"{where}: Minikube-built images must not be pulled"
            res = c["resources"]
            assert {"cpu", "memory"} <= res["requests"].keys() and {
                "cpu",
                "memory",
            } <= res["limits"].keys(), where


def test_app_and_cli_workloads_share_the_runs_layout():
    """The app sees what the Jobs train because both use the same ECGCORE_* paths on one volume."""
    for stage, obj in workloads():
        for c in pod_spec(obj)["containers"]:
            env = env_of(c)
            assert {k: env.get(k) for k in ECGCORE_ENV} == ECGCORE_ENV, f"{stage}: {obj['metadata']['name']}"
    for path in ECGCORE_ENV.values():
        assert path.startswith(DATA_MOUNT + "/")


def test_train_and_eval_jobs_take_the_run_name_from_the_environment():
    """Issue 13 §1: the cluster Jobs name their run through ECGCORE_RUN_NAME (value `default`: the
    folder <model>/fold<k>, what the app lists as run default); the CLI reads it as --run_name."""
    from ecgcore.run_paths import check_run_name

    found = 0
    for stage, obj in workloads():
        if obj["kind"] != "Job" or not any("train" in a or "eval" in a for a in argv(only_container(obj))):
            continue
        env = env_of(only_container(obj))
        assert env.get("ECGCORE_RUN_NAME") == "default", f"{stage}: {obj['metadata']['name']}"
        check_run_name(env["ECGCORE_RUN_NAME"])
        found += 1
    assert found >= 3  # train cnn1d, train cnn2d, eval


def test_app_deployment_and_service():
    base = rendered("base")
    deploy, svc = (
        base[("Deployment", "ecg-explorer")],
        base[("Service", "ecg-explorer")],
    )
    assert deploy["spec"]["replicas"] == 1
    container = only_container(deploy)
    assert argv(container) == [
        "python",
        "-m",
        "ecgcore",
        "app",
        "--server.port",
        "8501",
        "--server.address",
        "0.0.0.0",
    ]
    port = container["ports"][0]
    assert port["containerPort"] == 8501 and port["name"] == "http"
    assert container["readinessProbe"]["httpGet"]["path"] == "/_stcore/health"
    pod_labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert selector_matches(
        ",".join(f"{k}={v}" for k, v in deploy["spec"]["selector"]["matchLabels"].items()),
        pod_labels,
    )
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP", "the app has no login: never expose it directly"
    assert svc["spec"]["ports"][0]["port"] == 8501 and svc["spec"]["ports"][0]["targetPort"] in ("http", 8501)
    assert "oauth2-proxy" in (K8S / "app-deployment.yaml").read_text()


# =========================================================================== tests: Jobs


@pytest.mark.parametrize("model", MODELS)
def test_training_is_an_indexed_job_per_model(model):
    job = rendered("train")[("Job", f"train-{model}")]
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == 5
    assert isinstance(spec["parallelism"], int) and 1 <= spec["parallelism"] <= 5
    assert isinstance(spec["backoffLimit"], int) and spec["backoffLimit"] >= 1
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    assert "manualSelector" not in spec and "selector" not in spec
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "train"
    container = only_container(job)
    assert argv(container) == [
        "python",
        "-m",
        "ecgcore",
        "train",
        "--data_root",
        "/data/ptbxl",
        "--model",
        model,
    ]
    (call,) = ecgcore_invocations(container)
    assert "--fold" not in call and "JOB_COMPLETION_INDEX" not in env_of(container), (
        "the fold comes from JOB_COMPLETION_INDEX, which Kubernetes sets in Indexed Jobs"
    )
    ns = parse_cli(call)
    assert ns.model == model and str(ns.data_root) == "/data/ptbxl"


def test_every_job_command_parses_with_the_cli():
    seen = 0
    for stage in STAGES:
        for job in jobs(stage):
            for container in pod_spec(job)["containers"] + pod_spec(job).get("initContainers", []):
                for call in ecgcore_invocations(container):
                    parse_cli(call)
                    seen += 1
    assert seen == 1 + 2 + 3 + 2  # data: download (+ cache); train x2; eval+eval+compare; gpu train x2


def test_shell_scripts_are_valid_sh():
    scripts = 0
    for stage in STAGES:
        for job in jobs(stage):
            full = argv(only_container(job))
            if full[:2] == ["sh", "-c"]:
                check = subprocess.run(["sh", "-n", "-c", full[2]], capture_output=True, text=True, check=False)
                assert check.returncode == 0, f"{job['metadata']['name']}: {check.stderr}"
                scripts += 1
    assert scripts == 2  # download-ptbxl, eval


def test_eval_job_evaluates_both_models_then_compares():
    job = rendered("eval")[("Job", "eval")]
    calls = ecgcore_invocations(only_container(job))
    assert calls == [
        ["eval", "--data_root", "/data/ptbxl", "--model", "cnn1d", "--fold", "all"],
        ["eval", "--data_root", "/data/ptbxl", "--model", "cnn2d", "--fold", "all"],
        ["compare", "--data_root", "/data/ptbxl"],
    ]
    script = argv(only_container(job))[-1]
    assert script.count("&&") == 2, "a failed evaluation must stop the chain"
    for call in calls:
        parse_cli(call)
    assert job["spec"]["backoffLimit"] >= 0
    assert "completionMode" not in job["spec"]


def test_data_job_downloads_ptbxl_into_the_volume():
    job = rendered("data")[("Job", "download-ptbxl")]
    script = argv(only_container(job))[-1]
    assert script.startswith("set -eu;"), "stop at the first failing step"
    # one verified, resumable download; it loads the folder at the end, building the signal cache once
    calls = ecgcore_invocations(only_container(job))
    assert calls == [["download", "--out", "/data/ptbxl", "--version", "1.0.3", "--sampling_rate", "100"]]
    ns = parse_cli(calls[0])
    assert ns.out == env_of(only_container(job))["ECGCORE_DATA_ROOT"] and not ns.no_verify
    assert env_of(only_container(job))["ECGCORE_CACHE_DIR"] == "/data/cache"


def test_gpu_overlay_patches_the_training_jobs():
    overlay = kustomization(STAGES["gpu"])
    assert overlay["resources"] == ["../../jobs/train"]
    assert {i["name"] for i in overlay["images"]} == {IMAGE}
    cpu_jobs = rendered("train")
    for model in MODELS:
        key = ("Job", f"train-{model}")
        job, cpu = rendered("gpu")[key], cpu_jobs[key]
        container = only_container(job)
        assert container["resources"]["limits"]["nvidia.com/gpu"] in (1, "1")
        assert "nvidia.com/gpu" not in only_container(cpu)["resources"]["limits"]
        assert container["image"] == f"{IMAGE}:cuda" and only_container(cpu)["image"] == f"{IMAGE}:latest"
        (call,) = ecgcore_invocations(container)
        assert call == ecgcore_invocations(only_container(cpu))[0] + [
            "--device",
            "cuda",
        ]
        assert parse_cli(call).device == "cuda"
        # everything else is the CPU Job
        assert job["spec"] == {**cpu["spec"], "template": job["spec"]["template"]}
        assert {t["key"] for t in pod_spec(job)["tolerations"]} == {"nvidia.com/gpu"}
    # the patches themselves only use fields Kubernetes knows
    for entry in patch_entries(STAGES["gpu"]):
        (patch,) = load_yaml(STAGES["gpu"] / entry["path"])
        if isinstance(patch, dict):
            assert not unknown_fields(patch, model_class_name(patch)), unknown_fields(patch, model_class_name(patch))
        else:
            assert all(op["op"] == "add" and op["path"].startswith("/spec/template/spec/") for op in patch)


# =========================================================================== tests: image


def dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def dockerfile_arg(name: str) -> str:
    m = re.search(rf"^ARG {name}=(\S+)$", dockerfile(), re.MULTILINE)
    assert m, f"Dockerfile: ARG {name}=... missing"
    return m.group(1)


def test_dockerfile_builds_a_slim_cpu_image_with_a_cuda_switch():
    text = dockerfile()
    assert dockerfile_arg("BASE_IMAGE") == "python:3.11-slim"
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.MULTILINE)
    assert dockerfile_arg("TORCH_INDEX_URL") == "https://download.pytorch.org/whl/cpu"
    assert '--index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"' in text
    requirements = (REPO / "requirements.txt").read_text()
    pin = re.search(r"^torch==([\w.]+)", requirements, re.MULTILINE)
    assert pin, "requirements.txt should pin torch=="
    assert dockerfile_arg("TORCH_VERSION") == pin.group(1), "keep the Dockerfile's torch in step with requirements.txt"
    assert "pip install -r requirements.txt" in text


def test_image_runs_app_by_default_and_cli_as_non_root():
    text = dockerfile()
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] == str(UID), "run as the uid the pods' securityContext expects"
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd and json.loads(cmd.group(1)) == argv(only_container(rendered("base")[("Deployment", "ecg-explorer")]))
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.MULTILINE)
    # manifests only set `args`, so the entrypoint must just exec its arguments
    assert entrypoint and json.loads(entrypoint.group(1)) == ["/usr/bin/tini", "--"]
    assert "EXPOSE 8501" in text and "WORKDIR /app" in text and "PYTHONPATH=/app" in text
    assert re.search(r"apt-get install .*\bca-certificates\b", text), "the download Job fetches over HTTPS"
    for _, obj in workloads():
        for c in pod_spec(obj)["containers"]:
            assert "command" not in c, "set args only, so tini stays PID 1"


def test_dockerignore_keeps_data_and_artefacts_out():
    lines = {line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()}
    lines.discard("")
    for needed in (
        ".git",
        "checkpoints",
        "data",
        "**/__pycache__",
        ".pytest_cache",
        "test-artifacts",
        ".streamlit/secrets.toml",
    ):
        assert needed in lines, f".dockerignore should exclude {needed}"
    for kept in (
        "requirements.txt",
        "ecgcore",
        "streamlit_app.py",
        "pages",
        ".streamlit",
        "*.py",
    ):
        assert kept not in lines, f".dockerignore must not exclude {kept}: the image needs it"


# =========================================================================== tests: the CLI in a pod


@pytest.mark.slow
def test_job_completion_index_selects_the_fold(demo_root, tmp_path):
    """What one pod of the Indexed Job does: JOB_COMPLETION_INDEX=3 and no --fold trains fold 3 only."""
    runs, cache_dir = tmp_path / "runs", tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECGCORE_")}
    env |= {
        "JOB_COMPLETION_INDEX": "3",
        "ECGCORE_RUNS_DIR": str(runs),
        "ECGCORE_CACHE_DIR": str(cache_dir),
        "OMP_NUM_THREADS": "1",
    }
    cmd = [
        sys.executable,
        "-m",
        "ecgcore",
        "train",
        "--data_root",
        str(demo_root),
        "--model",
        "cnn1d",
        "--epochs",
        "1",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    model_dirs = sorted(runs.glob("demo*/superclass/cnn1d"))
    assert len(model_dirs) == 1, sorted(str(p.relative_to(runs)) for p in runs.rglob("*") if p.is_dir())
    assert sorted(p.name for p in model_dirs[0].iterdir() if p.is_dir()) == ["fold3"]
    run = model_dirs[0] / "fold3"
    assert (run / "best.pt").is_file()
    assert json.loads((run / "status.json").read_text())["state"] == "done"
