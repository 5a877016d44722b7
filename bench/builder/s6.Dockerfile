# 6: metadata only: ten each of ENV, LABEL, EXPOSE, WORKDIR, USER, CMD.
FROM busybox
COPY stamp /stamp
ENV V0=value0
ENV V1=value1
ENV V2=value2
ENV V3=value3
ENV V4=value4
ENV V5=value5
ENV V6=value6
ENV V7=value7
ENV V8=value8
ENV V9=value9
LABEL bench.label0="value 0"
LABEL bench.label1="value 1"
LABEL bench.label2="value 2"
LABEL bench.label3="value 3"
LABEL bench.label4="value 4"
LABEL bench.label5="value 5"
LABEL bench.label6="value 6"
LABEL bench.label7="value 7"
LABEL bench.label8="value 8"
LABEL bench.label9="value 9"
EXPOSE 800/tcp
EXPOSE 801/tcp
EXPOSE 802/tcp
EXPOSE 803/tcp
EXPOSE 804/tcp
EXPOSE 805/tcp
EXPOSE 806/tcp
EXPOSE 807/tcp
EXPOSE 808/tcp
EXPOSE 809/tcp
WORKDIR /w0
WORKDIR /w1
WORKDIR /w2
WORKDIR /w3
WORKDIR /w4
WORKDIR /w5
WORKDIR /w6
WORKDIR /w7
WORKDIR /w8
WORKDIR /w9
USER 1000
USER 1001
USER 1002
USER 1003
USER 1004
USER 1005
USER 1006
USER 1007
USER 1008
USER 1009
CMD ["echo", "0"]
CMD ["echo", "1"]
CMD ["echo", "2"]
CMD ["echo", "3"]
CMD ["echo", "4"]
CMD ["echo", "5"]
CMD ["echo", "6"]
CMD ["echo", "7"]
CMD ["echo", "8"]
CMD ["echo", "9"]
