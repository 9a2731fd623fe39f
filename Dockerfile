# llm-proxy: the gateway on Node 24, production dependencies only, as a non-root user.
FROM node:24-slim

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY config.yaml ./config.yaml
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 4000
VOLUME ["/app/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health/liveliness').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=8", "bin/llm-proxy.mjs", "--host", "0.0.0.0"]
