"""The pure parts of berth.engine.prune: what a real prune reports is what check mode predicts."""
from __future__ import annotations

from ansible_collections.berth.engine.plugins.module_utils.prune import (
    as_predicted,
    predict_containers,
    predict_images,
    removed_names,
)

# Shapes as Docker 20.10 answers them (GET /containers/json?all=1, GET /images/json, POST .../prune).
CONTAINERS = [
    {"Id": "4f2a" + "0" * 60, "Names": ["/shop-a"], "State": "exited", "Labels": {"t": "1"}, "Created": 1},
    {"Id": "9b1c" + "0" * 60, "Names": ["/shop-b"], "State": "created", "Labels": {"t": "1"}, "Created": 1},
    {"Id": "77aa" + "0" * 60, "Names": ["/shop-web"], "State": "running", "Labels": {"t": "1"}, "Created": 1,
     "ImageID": "sha256:" + "c" * 64},
]
IMAGES = [
    {"Id": "sha256:" + "a" * 64, "RepoTags": ["<none>:<none>"], "Labels": {"t": "1"}, "Created": 1},
    {"Id": "sha256:" + "b" * 64, "RepoTags": None, "Labels": {"t": "1"}, "Created": 1},
    {"Id": "sha256:" + "c" * 64, "RepoTags": ["shop:2"], "Labels": {"t": "1"}, "Created": 1},
]


def test_containers_are_reported_by_name_as_predicted():
    predicted = predict_containers(CONTAINERS, None, ["t=1"])
    reply = {"ContainersDeleted": [CONTAINERS[1]["Id"], CONTAINERS[0]["Id"]], "SpaceReclaimed": 10}
    ids, space = removed_names("containers", reply)
    assert as_predicted("containers", ids, CONTAINERS) == predicted == ["shop-a", "shop-b"]
    assert space == 10


def test_images_are_reported_by_image_id_without_their_layers():
    predicted = predict_images(IMAGES, CONTAINERS, False, None, ["t=1"])
    reply = {"ImagesDeleted": [{"Untagged": "shop@sha256:" + "d" * 64}, {"Deleted": IMAGES[0]["Id"]},
                               {"Deleted": "sha256:" + "e" * 64}, {"Deleted": IMAGES[1]["Id"]}]}
    ids, _unused = removed_names("images", reply)
    assert as_predicted("images", ids, IMAGES) == predicted == [IMAGES[0]["Id"], IMAGES[1]["Id"]]


def test_networks_volumes_and_build_cache_are_reported_as_answered():
    assert as_predicted("networks", ["b", "a"], []) == ["a", "b"]
    assert as_predicted("build_cache", ["x1"], []) == ["x1"]
