# Container targets (included by the Makefile).
#   make container-lint    docker-compose.yml against the Compose spec schema; hadolint on the Dockerfile
#   make container-check   build the Dockerfile with podman on a local base image, then run the
#                          test suite and a tiny-params `dvc repro` inside the built image
# The tools (requirements-container.txt) get a small venv of their own: neither target needs
# the TensorFlow venv.

CONTAINER_TOOLS ?= $(VENV)/container-tools
CONTAINER_TOOLS_DONE := $(CONTAINER_TOOLS)/.setup-done

.PHONY: container-lint container-check

$(CONTAINER_TOOLS_DONE): requirements-container.txt
	$(PYTHON) -m venv $(CONTAINER_TOOLS)
	$(CONTAINER_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-container.txt
	touch $@

container-lint: $(CONTAINER_TOOLS_DONE)
	$(CONTAINER_TOOLS)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(CONTAINER_TOOLS)/bin/hadolint --no-color Dockerfile
	@echo "container-lint: docker-compose.yml and Dockerfile clean"

container-check:
	MAKE="$(MAKE)" CONTAINER_TOOLS="$(abspath $(CONTAINER_TOOLS))" bash container/check.sh
