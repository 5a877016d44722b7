# 1: one RUN step.
FROM busybox
COPY stamp /stamp
RUN echo hello > /hello
