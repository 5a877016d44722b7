# 3: COPY of a tree of small files (FILES of FILE_KB KiB, made by bench/builder.sh), then a RUN.
FROM busybox
COPY files /files
RUN find /files -type f | wc -l > /count
