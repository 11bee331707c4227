# shellcheck shell=bash
# The profile `scripts/run` picks when its command line names none (sourced by
# scripts/run; crates/docs-check/tests/run_script.rs runs both branches).
#
#   choose_profile EXPERIMENT ARGS...
#     prints `quick` on stdout when no GPU is found, with one line on stderr
#     saying so and how to run the `paper` profile; with a GPU, nothing on
#     stdout (the binary's default profile, `paper`, stays) and one line on
#     stderr saying so and how to run `quick`. Nothing at all when ARGS name a
#     profile (`--profile X`, `--profile=X`) or ask for help or the version.
#
# A GPU is found when `nvidia-smi -L` lists one, CUDA_VISIBLE_DEVICES does not
# hide them all, and ARGS do not ask for `--device cpu`. REPRO_ASSUME_GPU=1 (or 0)
# skips the detection and says there is (or is not) one, e.g. to try either
# branch on any machine.

gpu_found() {
  case "${REPRO_ASSUME_GPU:-}" in
    1) return 0 ;;
    0) return 1 ;;
    "") ;;
    *) echo "scripts/run: REPRO_ASSUME_GPU must be 0 or 1, not '$REPRO_ASSUME_GPU'" >&2; exit 2 ;;
  esac
  if [ "${CUDA_VISIBLE_DEVICES+set}" = set ] && { [ -z "$CUDA_VISIBLE_DEVICES" ] || [ "$CUDA_VISIBLE_DEVICES" = -1 ]; }; then
    return 1
  fi
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '
}

choose_profile() {
  local exp=$1 prev="" a on_cpu=false
  shift
  for a in "$@"; do
    case "$a" in
      --profile | --profile=*) return 0 ;;
      -h | --help | -V | --version) return 0 ;;
      --device=cpu) on_cpu=true ;;
    esac
    if [ "$prev" = --device ] && [ "$a" = cpu ]; then
      on_cpu=true
    fi
    prev=$a
  done
  if ! $on_cpu && gpu_found; then
    echo "scripts/run: a GPU was found, so the binary's default profile, \`paper\`; a shortened run instead: scripts/run $exp --profile quick" >&2
    return 0
  fi
  local why="no GPU was found"
  $on_cpu && why="of --device cpu"
  echo "scripts/run: chose --profile quick (shortened: a reduced budget, sized for a CPU) because $why; the full \`paper\` profile: scripts/run $exp --profile paper" >&2
  echo quick
}
