# 4: one RUN writing a big incompressible layer (MB MiB; BIG_MB in bench/builder.sh).
FROM busybox
COPY stamp /stamp
ARG MB=500
RUN dd if=/dev/urandom of=/big bs=1M count=$MB 2>/dev/null
