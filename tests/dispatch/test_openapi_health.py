import re


def test_openapi_documents_every_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/sms/", "/healthz")):
            continue  # pages, not API
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {path} is not in openapi.json"


def test_openapi_request_bodies_come_from_the_models(client):
    document = client.get("/api/v1/openapi.json").get_json()
    volunteer = document["components"]["schemas"]["VolunteerIn"]
    assert set(volunteer["required"]) == {"name", "phone", "skills", "language"}
    assert {"maximum": 90, "minimum": -90, "type": "number"} in volunteer["properties"]["lat"]["anyOf"]


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_unknown_paths_and_methods_answer_in_the_error_shape(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "NOT_FOUND"
    response = client.put("/api/v1/skills")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_every_operation_with_a_body_documents_413(client):
    document = client.get("/api/v1/openapi.json").get_json()
    with_body = [
        (method, path, op)
        for path, operations in document["paths"].items()
        for method, op in operations.items()
        if "requestBody" in op
    ]
    assert len(with_body) >= 8
    for method, path, op in with_body:
        assert "413" in op["responses"], (method, path)
