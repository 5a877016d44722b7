# 5: two stages, the second copying the first's output.
FROM busybox AS build
COPY stamp /stamp
RUN mkdir /out && cp /stamp /out/stamp && dd if=/dev/urandom of=/out/blob bs=64k count=16 2>/dev/null && echo built > /out/artifact

FROM busybox
COPY --from=build /out /app
RUN ls -l /app > /app.list
