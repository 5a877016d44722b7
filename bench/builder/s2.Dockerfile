# 2: ten RUN steps.
FROM busybox
COPY stamp /stamp
RUN echo 1 > /r1
RUN echo 2 > /r2
RUN echo 3 > /r3
RUN echo 4 > /r4
RUN echo 5 > /r5
RUN echo 6 > /r6
RUN echo 7 > /r7
RUN echo 8 > /r8
RUN echo 9 > /r9
RUN echo 10 > /r10
