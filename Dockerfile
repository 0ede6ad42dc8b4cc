# syntax=docker/dockerfile:1

FROM node:20-alpine AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency the compiler needs has an install script; skipping them keeps
# mongodb-memory-server and @parcel/watcher (test-only) from running theirs.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# skaffold dev target. The pod's root filesystem is read-only and only /tmp (an
# emptyDir) is writable, so the workspace lives there: skaffold syncs src/**/*.ts
# to WORKDIR, dev-watch transpiles each file into /tmp/dist (a full tsc --watch
# needs more memory than the pod's limit) and node restarts on the new output.
# The copy happens only on a fresh volume so that a container restart keeps the
# files synced since the pod started.
FROM build AS dev
ENV NODE_ENV=development
COPY scripts/dev-watch.js /app/scripts/dev-watch.js
USER node
WORKDIR /tmp
CMD ["sh", "-c", "[ -d src ] || cp -R /app/package.json /app/src /app/dist . && ln -sfn /app/node_modules node_modules && { node /app/scripts/dev-watch.js /tmp & } && exec node --watch dist/index.js"]

FROM node:20-alpine AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# The same command as `npm start` (test/dockerfile.test.ts), whose node options the
# benchmark and the dev stack read too. A young generation of 8 MB semi-spaces (V8's
# default grows to 16) and an old space bounded at 128 MB (the default bound, from the
# machine's memory, lets garbage pile up to 75 MB and more before a full collection)
# keep the peak RSS under load near 120 MB, against 175–190 MB without them (docs/benchmarks.md,
# "Memory"); the bound stays well inside the pod's 256Mi limit (infra/k8s).
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=128", "dist/index.js"]
