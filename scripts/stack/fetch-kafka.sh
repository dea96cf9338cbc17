#!/usr/bin/env bash
# Gathers the Apache Kafka broker jars (and the log4j 1 backend the official tarball ships) from
# Maven Central into $PEERLOG_CACHE/kafka-<version>/libs with a throwaway Maven project.
set -euo pipefail
version=${1:?usage: fetch-kafka.sh 3.9.1}
cache=${PEERLOG_CACHE:-$HOME/.cache/peerlog}
dest="$cache/kafka-$version"
[ -f "$dest/.complete" ] && exit 0
work="$cache/build/kafka-$version"
mkdir -p "$work" "$dest"
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.peerlog.stack</groupId>
  <artifactId>kafka-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>
POM
echo "[fetch-kafka] resolving kafka_2.13:$version and its runtime dependencies from Maven Central" >&2
rm -rf "$dest/libs"
mvn -B -q -f "$work/pom.xml" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$dest/libs" >&2
# Two logging backends on one classpath make slf4j pick at random; keep only reload4j.
rm -f "$dest"/libs/logback-*.jar "$dest"/libs/slf4j-simple-*.jar
touch "$dest/.complete"
