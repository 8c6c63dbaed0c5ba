# The soak, sourced by `load/bench --soak` once Redis and the release binaries are ready:
# load/scenarios/soak.toml (twenty minutes of joins, sockets, checkouts and bots) played through
# nginx (deploy/nginx.conf) against two instances on the bench's Redis. Every 10 s it samples
# each instance's RSS and Redis's memory and key count; load/bench.d/soak_report.py then writes
# load/results/soak-<date>.md, the samples (.csv) and a plot (.svg).

command -v nginx >/dev/null || { echo "load/bench --soak needs nginx (apt-get install -y nginx)" >&2; exit 2; }

log "soak: two instances behind nginx on one Redis, load/scenarios/soak.toml"
# One signing key for both, as deployed: an admission token signed by one is good on the other.
"${waitroom_bin}" keygen >"${work}/signing-key.pem" 2>/dev/null
export WAITROOM_SIGNING_KEY_FILE="${work}/signing-key.pem"
start_waitroom soak-1 redis scenario
soak_pid_1=${server_pid}; soak_port_1=${server_url##*:}
start_waitroom soak-2 redis scenario
soak_pid_2=${server_pid}; soak_port_2=${server_url##*:}

lb_port=$(free_port)
mkdir -p "${work}/nginx"
# No access log: a sale's worth of lines would be written to the system's log directory.
sed -e "s|server waitroom-1:8080|server 127.0.0.1:${soak_port_1}|" \
  -e "s|server waitroom-2:8080|server 127.0.0.1:${soak_port_2}|" \
  -e "s|listen 80;|listen 127.0.0.1:${lb_port};|" \
  -e "s|worker_connections 65536;|worker_connections 8192;|" \
  -e "s|^http {|http {\n  access_log off;|" deploy/nginx.conf >"${work}/nginx/nginx.conf"
nginx -p "${work}/nginx" -c "${work}/nginx/nginx.conf" \
  -g "daemon off; pid ${work}/nginx/nginx.pid; error_log ${work}/nginx/error.log;" &
started+=($!)
site="http://127.0.0.1:${lb_port}"
wait_http "${site}/healthz"

# soak_samples FILE: a line every 10 s until killed (seconds since the first sample).
soak_samples() {
  local file=$1 first next event="" joined memory
  first=$(date +%s)
  next=${first}
  echo "seconds,instance_1_rss_kb,instance_2_rss_kb,redis_used_memory,redis_used_memory_rss,redis_keys,joined" >"${file}"
  while :; do
    [ -z "${event}" ] && event=$(rcli SMEMBERS wr:events | grep '^sim-soak-' | head -n 1 || true)
    joined=""
    [ -n "${event}" ] && joined=$(rcli HGET "wr:{${event}}:st" joined)
    memory=$(rcli INFO memory | tr -d '\r' \
      | awk -F: '/^used_memory:/ { used = $2 } /^used_memory_rss:/ { rss = $2 } END { print used "," rss }')
    echo "$(( $(date +%s) - first )),$(rss_kb "${soak_pid_1}"),$(rss_kb "${soak_pid_2}"),${memory},$(rcli DBSIZE),${joined}" >>"${file}"
    next=$(( next + 10 ))
    sleep "$(( next - $(date +%s) > 0 ? next - $(date +%s) : 0 ))"
  done
}

samples="${work}/soak-samples.csv"
soak_samples "${samples}" &
sampler_pid=$!
started+=("${sampler_pid}")

# WAITROOM_SOAK_SECONDS shortens (or lengthens) the sale, the crowd and the stock with it.
soak_seconds=${WAITROOM_SOAK_SECONDS:-1200}
soak_file=$(scenario load/scenarios/soak.toml soak "arrival_seconds=${soak_seconds}" \
  "units=$(( soak_seconds * 125 / 3 ))")
soak_began=$(date -u +%H:%M:%S)
simulate "${site}" "${soak_file}" "${work}/soak" --shoppers "$(( soak_seconds * 50 ))" \
  --max-seconds "$(( soak_seconds + 30 ))"
soak_ended=$(date -u +%H:%M:%S)
# Two more samples after the crowd has gone.
sleep 20
stop "${sampler_pid}"
[ -f "${work}/soak/report.json" ] || { cat "${work}/soak/stdout.log" >&2; echo "the soak's simulator wrote no report" >&2; exit 1; }

date=$(date -u +%F)
mkdir -p load/results
cp "${samples}" "load/results/soak-${date}.csv"
python3 "${here}/soak_report.py" "load/results/soak-${date}.csv" "${work}/soak/report.json" \
  "load/results/soak-${date}" --began "${soak_began}" --ended "${soak_ended}" \
  --nproc "$(nproc)" --redis "$(redis-server --version | awk '{print $3}')" \
  --nginx-errors "$(grep -c '\[error\]' "${work}/nginx/error.log" || true)" \
  --instance-errors "$(cat "${work}/soak-1.log" "${work}/soak-2.log" | grep -c '"level":"ERROR"' || true)"
cp "${work}/soak/summary.md" "load/results/soak-${date}-simulator.md"
log "wrote load/results/soak-${date}.md, .csv, .svg and -simulator.md"
