# An Anonify node: `anonify node start` with its enclave bundle, run as the unprivileged user `node`,
# its data directory a volume. Build it from a built checkout (docs/operations.md, "In a container"):
#   npm ci && npm run build && podman build --format docker -t anonify-node .
# (`--format docker` keeps the HEALTHCHECK: the OCI image format has none.)
#
# The image packages the checkout's dist/ rather than building it again: the enclave bundle inside is
# byte for byte the one whose measurement that build printed (dist/enclave/enclave.mjs.json keeps
# it), which the contract's owner allows; and the build's toolchain (solc, esbuild, vite: the dev
# dependencies) has no place in a node's image.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS deps
WORKDIR /opt/anonify
COPY package.json package-lock.json ./
# Exactly the lockfile's production dependencies. No install scripts: the only two (anvil's and
# cbor-extract's) look for the platform packages npm has installed, and download them if not. A
# cache mounted at /root/.npm (`podman build -v`) is used without asking the registry again.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline

FROM ${BASE}
WORKDIR /opt/anonify
COPY --from=deps /opt/anonify/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY dist ./dist
# The node's data directory (sealed state, enclave data, admin token): its user's alone. A volume
# created from the image starts with this owner and mode.
RUN install -d -o node -g node -m 0700 /var/lib/anonify
VOLUME /var/lib/anonify
USER node
# The API's port, read by the entrypoint and the healthcheck alike: set this, not --port.
ENV ANONIFY_PORT=8080
EXPOSE 8080
# Ready means registered, in the group and caught up with the chain (503 while syncing).
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.ANONIFY_PORT}/v1/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The arguments given to the container follow these: --network (or --rpc and --contract),
# --attestation and --key at least. A later flag of the same name replaces one given here.
ENTRYPOINT ["/bin/sh", "-c", "exec node /opt/anonify/bin/anonify.mjs node start --data-dir /var/lib/anonify --host 0.0.0.0 --port \"$ANONIFY_PORT\" --json \"$@\"", "anonify-node"]
