"""moto_server (pinned 5.2.5, installed by scripts/moto-env) + one extra backdoor route: POST /moto-api/x/patch  (JSON body).
Run:  python moto_plus.py -H 127.0.0.1 -p 5056      (same args as moto_server)
Body: {"kind": "ecs_task"|"ecs_service"|"ecs_container_instance"|"ec2_spot_request"|"ec2_instance",
       "account": "123456789012", "region": "us-east-1",
       "cluster": "<name>" (ecs kinds), "id": "<arn|id|service name>",
       "set": {attr: value, ...},            # python attribute names on moto's model, e.g. stop_code, stopped_reason
       "containers": {attr: value, ...},     # ecs_task only: applied to every container (reason, exitCode, last_status)
       "append_event": "message",            # ecs_service only: prepend a service event (newest first, like AWS)
       "delete": true}                       # forget the object (as AWS forgets stopped tasks after ~1 h)
Values of keys ending in _at given as ISO-8601 strings become datetimes.
POST /moto-api/x/reset-region {"region": R} forgets one region's ECS and EC2 state.

Another extra route, POST /moto-api/x/fault (JSON body), makes chosen calls fail,
for the error-handling tests (moto cannot deny access or throttle on its own):
  {"action": "DescribeCapacityProviders", "region": "eu-west-1",
   "status": 400, "code": "AccessDeniedException", "message": "...",
   "times": 3}                              # optional: only the next N calls
  {"clear": true, "region": "eu-west-1"}    # remove the faults of a region ("region" optional)
JSON-protocol services (ECS) get {"__type": code, "message": ...}; query-protocol
services (EC2) get the EC2 XML error; status 500 without a code gets an HTML page,
as moto's own unimplemented calls do."""
import datetime as dt, io, json, re, sys, threading, urllib.parse, uuid
from moto.moto_api._internal import urls as api_urls

def _val(k, v):
    if k.endswith("_at") and isinstance(v, str):
        return dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    return v

def _find(b, kind, cluster, oid):
    if kind == "ecs_task":
        for arn, t in b.tasks.get(cluster, {}).items():
            if arn == oid or arn.endswith("/" + oid.split("/")[-1]):
                return t
    elif kind == "ecs_service":
        return b.services.get(f"{cluster}:{oid.split('/')[-1]}")
    elif kind == "ecs_container_instance":
        return b.container_instances.get(cluster, {}).get(oid.split("/")[-1])
    elif kind == "ec2_spot_request":
        return b.spot_instance_requests.get(oid)
    elif kind == "ec2_instance":
        return b.get_instance(oid)
    return None

def _forget(b, kind, cluster, obj):
    if kind == "ecs_task":
        b.tasks[cluster].pop(obj.task_arn, None)
    elif kind == "ecs_service":
        b.services.pop(f"{cluster}:{obj.name}", None)
    elif kind == "ecs_container_instance":
        b.container_instances[cluster].pop(obj.container_instance_arn.split("/")[-1], None)
    elif kind == "ec2_spot_request":
        b.spot_instance_requests.pop(obj.id, None)
    else:
        raise ValueError(f"cannot delete {kind}")

def patch(request, full_url, headers):
    from moto.ecs.models import ecs_backends
    from moto.ec2.models import ec2_backends
    body = json.loads(request.get_data() or b"{}")
    kind = body["kind"]
    acct, region = body.get("account", "123456789012"), body.get("region", "us-east-1")
    b = (ecs_backends if kind.startswith("ecs_") else ec2_backends)[acct][region]
    obj = _find(b, kind, body.get("cluster", "default"), body["id"])
    if obj is None:
        return 404, {}, json.dumps({"error": f"{kind} {body['id']} not found"})
    if body.get("delete"):                  # AWS forgot it (stopped tasks vanish after ~1 h)
        _forget(b, kind, body.get("cluster", "default"), obj)
        return 200, {}, json.dumps({"status": "deleted"})
    for k, v in body.get("set", {}).items():
        if kind == "ec2_spot_request" and k == "status_code":
            k = "_status_code"          # SpotInstanceRequest.status is a read-only property
        setattr(obj, k, _val(k, v))
    for c in getattr(obj, "containers", []) if "containers" in body else []:
        for k, v in body["containers"].items():
            setattr(c, k, _val(k, v))
    if "append_event" in body:
        obj.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": dt.datetime.now(dt.timezone.utc), "message": body["append_event"]})
    return 200, {}, json.dumps({"status": "ok"})

api_urls.url_paths["{0}/moto-api/x/patch$"] = patch

def reset_region(request, full_url, headers):
    """POST /moto-api/x/reset-region {"region": R, "account": A}: forget the ECS
    and EC2 state of one region, so tests in other regions run on undisturbed."""
    from moto.ecs.models import ecs_backends
    from moto.ec2.models import ec2_backends
    body = json.loads(request.get_data() or b"{}")
    acct, region = body.get("account", "123456789012"), body["region"]
    for backends in (ecs_backends, ec2_backends):
        if region in backends[acct]:
            backends[acct][region].reset()
    return 200, {}, json.dumps({"status": "ok"})

api_urls.url_paths["{0}/moto-api/x/reset-region$"] = reset_region

# moto 5.2.5 bug: DescribeCapacityProviders without `capacityProviders` -> TypeError -> HTTP 500. AWS returns all.
from moto.ecs import models as _ecs_models
_orig_dcp = _ecs_models.EC2ContainerServiceBackend.describe_capacity_providers
def _dcp(self, names):
    return _orig_dcp(self, names or [cp.name for cp in self.capacity_providers.values()])
_ecs_models.EC2ContainerServiceBackend.describe_capacity_providers = _dcp

# moto 5.2.5 prints every spot request's Status.UpdateTime as 2015-01-01: let
# the patch route set it (`"set": {"status_update_time": "2026-11-30T03:04:10.000Z"}`),
# since the two-minute interruption deadline is counted from it.
from moto.ec2.models import spot_requests as _spot_models
def _spot_status(self):
    return {"Code": self._status_code, "Message": self.status_message,
            "UpdateTime": getattr(self, "status_update_time", "2015-01-01T00:00:00.000Z")}
_spot_models.SpotInstanceRequest.status = property(_spot_status)

# moto 5.2.5 ignores maxResults/nextToken on the ECS list calls and accepts any
# number of items in a describe call. AWS pages lists (at most 100 per page)
# and rejects describe calls over its batch limits; do the same, so tests of
# paging and batching against moto mean something.
from moto.core.responses import ActionResult as _ActionResult
from moto.ecs import responses as _ecs_responses
from moto.ecs.exceptions import InvalidParameterException as _InvalidParameter

def _paged(name, key):
    orig = getattr(_ecs_responses.EC2ContainerServiceResponse, name)
    def paged(self):
        result = orig(self)
        items = list(result.result[key])
        limit = int(self._get_param("maxResults") or 100)
        if not 1 <= limit <= 100:
            raise _InvalidParameter("maxResults must be between 1 and 100")
        start = int(self._get_param("nextToken") or 0)
        out = {key: items[start:start + limit]}
        if start + limit < len(items):
            out["nextToken"] = str(start + limit)
        return _ActionResult(out)
    setattr(_ecs_responses.EC2ContainerServiceResponse, name, paged)

for _name, _key in [("list_clusters", "clusterArns"), ("list_services", "serviceArns"),
                    ("list_tasks", "taskArns"), ("list_container_instances", "containerInstanceArns")]:
    _paged(_name, _key)

def _limited(name, param, limit):
    orig = getattr(_ecs_responses.EC2ContainerServiceResponse, name)
    def limited(self):
        if len(self._get_param(param) or []) > limit:
            raise _InvalidParameter(f"{param} can have at most {limit} items.")
        return orig(self)
    setattr(_ecs_responses.EC2ContainerServiceResponse, name, limited)

for _name, _param, _limit in [("describe_services", "services", 10), ("describe_tasks", "tasks", 100),
                              ("describe_container_instances", "containerInstances", 100),
                              ("describe_clusters", "clusters", 100)]:
    _limited(_name, _param, _limit)

# ---- fault injection -------------------------------------------------------
FAULTS = []
_FAULTS_LOCK = threading.Lock()

def fault(request, full_url, headers):
    body = json.loads(request.get_data() or b"{}")
    with _FAULTS_LOCK:
        if body.get("clear"):
            region = body.get("region")
            FAULTS[:] = [f for f in FAULTS if region and f.get("region") != region]
        else:
            FAULTS.append(dict(body))
        n = len(FAULTS)
    return 200, {}, json.dumps({"faults": n})

api_urls.url_paths["{0}/moto-api/x/fault$"] = fault

def _request_facts(environ):
    """(action, region, json_protocol) of an AWS API request; re-buffers the body."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        action, json_protocol = target.split(".")[-1], True
    else:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        action, json_protocol = (form.get("Action") or [""])[0], False
    m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return action, (m.group(1) if m else ""), json_protocol

def _take_fault(action, region):
    with _FAULTS_LOCK:
        for f in FAULTS:
            if f.get("action") == action and f.get("region", region) == region:
                if "times" in f:
                    f["times"] -= 1
                    if f["times"] <= 0:
                        FAULTS.remove(f)
                return dict(f)
    return None

from moto.moto_server import werkzeug_app as _wapp
_orig_call = _wapp.DomainDispatcherApplication.__call__

def _call(self, environ, start_response):
    if FAULTS and not environ.get("PATH_INFO", "").startswith("/moto-api"):
        action, region, json_protocol = _request_facts(environ)
        f = _take_fault(action, region)
        if f:
            status = int(f.get("status", 400))
            code, msg = f.get("code"), f.get("message", "injected by moto_plus")
            if not code:
                ctype, body = "text/html", "<html><body><h1>Internal Server Error</h1></body></html>"
            elif json_protocol:
                ctype, body = "application/x-amz-json-1.1", json.dumps({"__type": code, "message": msg})
            else:
                ctype = "text/xml"
                body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
                        f"<Message>{msg}</Message></Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>")
            data = body.encode()
            start_response(f"{status} Injected", [("Content-Type", ctype), ("Content-Length", str(len(data)))])
            return [data]
    return _orig_call(self, environ, start_response)

_wapp.DomainDispatcherApplication.__call__ = _call

if __name__ == "__main__":
    from moto.server import main
    main(sys.argv[1:])
