# Relay: webhook edge relay.
#   docker build -t relay .
#   docker run -p 8080:8080 -p 9090:9090 -e YOUSIGN_SECRET -e PARTNER_WHSEC -e ARCHIVE_WHSEC -v relay-data:/app/data relay
#   (or your own relay.yaml: -v "$PWD/my-config:/app/config:ro", with the variables it names)
# Webhooks, /healthz, /readyz and /metrics are served on 8080; /admin on 9090 when relay.yaml sets
# admin.urls (e.g. http://+:9090). Secrets referenced from relay.yaml as ${NAME} are passed as env vars.
# The image's relay.yaml (the repository's config/relay.yaml) has no fallback secrets: started without them, Relay
# refuses to start and names each missing variable. config/relay.dev.yaml, whose development secrets are public, is
# for `dotnet run` and is never copied into the image.

# ---- build ------------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src

# Restore on its own layer: it only reruns when the project or the central package versions change.
COPY Directory.Build.props Directory.Packages.props BannedSymbols.txt ./
COPY src/Relay/Relay.csproj src/Relay/
RUN dotnet restore src/Relay/Relay.csproj

COPY . .
RUN dotnet publish src/Relay/Relay.csproj -c Release -o /app/out

# Default relay.yaml for the image (normally replaced by a mounted file): relay.yaml only, never relay.dev.yaml.
# Tolerates its absence so the image still builds; without a mounted config Relay then reports the missing file at start.
RUN mkdir -p /app/config && if [ -f config/relay.yaml ]; then cp config/relay.yaml /app/config/relay.yaml; fi

# ---- runtime ----------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app

# The embedded store's data dir (store.dataDir: /app/data) must be writable by the non-root app user
# (UID 1654, $APP_UID in the base image) before it is declared a volume.
RUN mkdir -p /app/data && chown "$APP_UID:$APP_UID" /app/data

COPY --from=build /app/out/ /app/
COPY --from=build /app/config/ /app/config/

ENV ASPNETCORE_URLS=http://+:8080
EXPOSE 8080 9090
VOLUME /app/data

USER $APP_UID

# The aspnet image has neither curl nor wget: speak HTTP/1.1 over bash's /dev/tcp and require a
# "HTTP/1.x 200" status line. Any other status, a refused connection or a 5 s silence is unhealthy.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 || exit 1; printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 || exit 1; IFS= read -r -t 5 status <&3 || exit 1; [[ $status == 'HTTP/1.'[01]' 200'* ]]"]

ENTRYPOINT ["dotnet", "Relay.dll"]
