#!/usr/bin/env bash
# `terraform validate` for infra/terraform. It needs the google provider, which `terraform init`
# downloads from the Terraform registry, so it runs where the network allows that (CI, a laptop),
# not in the offline test suite. Usage: infra/ci/validate.sh   (from anywhere; exit 0 = valid)
set -euo pipefail
cd "$(dirname "$0")/../terraform"

command -v terraform >/dev/null 2>&1 || { echo "terraform is not on PATH: install Terraform >= 1.9" >&2; exit 2; }

terraform fmt -check -recursive
# No backend: validation needs no state, and no credentials for the state bucket. Once a
# .terraform.lock.hcl is committed, CI must use exactly the provider builds it names.
lockfile=()
[[ -f .terraform.lock.hcl ]] && lockfile=(-lockfile=readonly)
terraform init -backend=false -input=false "${lockfile[@]}"
terraform validate
