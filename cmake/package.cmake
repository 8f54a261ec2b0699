# Debian packages with CPack, from the install components of cmake/install.cmake:
#   libalipaymsg-dev  the static libraries, public headers, alipaymsgConfig.cmake, alipaymsg.pc
#   alipay-msgd       alipay-msgd and alipay-msg, the systemd unit, /etc/alipay-msgd/alipay-msgd.yaml
#                     (a conffile), the system user alipay-msgd and its state in /var/lib/alipay-msgd
#   alipay-msg-sim    the local Alipay simulator
# Build them after the build with `cpack --config build/CPackConfig.cmake -B OUT_DIR` (DEVELOPERS.md);
# tests/packaging installs them with dpkg. Binaries are stripped; Depends of the programs come from
# dpkg-shlibdeps (dpkg-dev), the -dev package's from what alipaymsgConfig.cmake finds.
# Included from the top-level CMakeLists.txt after cmake/install.cmake.

# Package-only files: EXCLUDE_FROM_ALL keeps them out of a plain `cmake --install` (a user's prefix
# has no business in /etc or /lib/systemd); CPack installs each component explicitly, so they are
# in the package. Absolute paths: where Debian puts them whatever the prefix.
set(ALIPAYMSG_PACKAGING_DIR ${CMAKE_SOURCE_DIR}/packaging)
install(FILES ${ALIPAYMSG_PACKAGING_DIR}/alipay-msgd.service DESTINATION /lib/systemd/system
  COMPONENT daemon EXCLUDE_FROM_ALL)
install(FILES ${ALIPAYMSG_PACKAGING_DIR}/alipay-msgd.yaml DESTINATION /etc/alipay-msgd
  COMPONENT daemon EXCLUDE_FROM_ALL)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/alipay-msgd
  COMPONENT daemon EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME alipay-msg)
set(CPACK_PACKAGE_VENDOR "alipay-msg")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL dev daemon sim)
set(CPACK_DEB_COMPONENT_INSTALL ON)
# Each component's description below: its first line is the package's summary (Debian's synopsis).

# A placeholder until the project has a public address (lintian: bogus-mail-host); -D to override.
set(ALIPAYMSG_DEB_MAINTAINER "alipay-msg developers <alipay-msg@localhost>" CACHE STRING
  "Maintainer field of the Debian packages")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ALIPAYMSG_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Maintainer scripts 0755, conffiles 0644, whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Debian's changelog.Debian.gz in each package's doc directory (policy 12.7), max compression, no
# name or time stamp in the gzip header (-n): the same tree makes the same file.
find_program(ALIPAYMSG_GZIP gzip REQUIRED)
string(TIMESTAMP ALIPAYMSG_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
foreach(component_package IN ITEMS dev:libalipaymsg-dev daemon:alipay-msgd sim:alipay-msg-sim)
  string(REPLACE ":" ";" pair "${component_package}")
  list(GET pair 0 component)
  list(GET pair 1 ALIPAYMSG_DEB_PACKAGE)
  set(changelog ${CMAKE_BINARY_DIR}/packaging/${ALIPAYMSG_DEB_PACKAGE}/changelog.Debian)
  configure_file(${ALIPAYMSG_PACKAGING_DIR}/debian/changelog.in ${changelog} @ONLY)
  execute_process(COMMAND ${ALIPAYMSG_GZIP} -9nf ${changelog} COMMAND_ERROR_IS_FATAL ANY)
  install(FILES ${changelog}.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${ALIPAYMSG_DEB_PACKAGE}
    COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libalipaymsg-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION "Receive Alipay Open Platform messages - C++ library
libalipaymsg receives Alipay Open Platform messages over the WebSocket long
connection and as HTTP notifications: signatures verified, each message stored
once in a durable inbox and acked after the store. Static libraries, headers,
CMake package (find_package(alipaymsg)) and pkg-config file.")
# Debug information out of the archives, as dh_strip does for Debian's own -dev packages (CPack's
# stripping covers executables only): 137 MB of libalipaymsg_client.a was DWARF, 14 MB is left.
# `cmake --install --strip` does the same.
if(NOT CMAKE_STRIP)
  message(FATAL_ERROR "no strip program (binutils): the packages ship stripped files")
endif()
string(CONFIGURE [[
  if(CMAKE_INSTALL_DO_STRIP)
    file(GLOB archives "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/@CMAKE_INSTALL_LIBDIR@/libalipaymsg_*.a")
    foreach(archive IN LISTS archives)
      execute_process(COMMAND "@CMAKE_STRIP@" --strip-debug --enable-deterministic-archives "${archive}"
        COMMAND_ERROR_IS_FATAL ANY)
    endforeach()
  endif()]] alipaymsg_strip_archives @ONLY)
install(CODE "${alipaymsg_strip_archives}" COMPONENT dev)
# Static libraries: a consumer links their dependencies itself (alipaymsgConfig.cmake finds them,
# pkg-config through openssl, sqlite3 and spdlog). libpq is loaded at run time, when a PostgreSQL
# inbox opens: no libpq-dev.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libssl-dev (>= 3), libsqlite3-dev, libspdlog-dev, libboost-json1.81-dev, libboost-url1.81-dev, pkg-config")

set(CPACK_DEBIAN_DAEMON_PACKAGE_NAME alipay-msgd)
set(CPACK_DEBIAN_DAEMON_PACKAGE_SECTION net)
set(CPACK_COMPONENT_DAEMON_DESCRIPTION "Receive Alipay Open Platform messages - daemon and CLI
alipay-msgd holds the Alipay open-channel connections of one or more apps and
hands each verified message, once, to sinks (JSONL file, a command, an HTTP
webhook, Redis Streams, NATS JetStream). alipay-msg checks its config, prints
certificate SNs, signs and verifies, and inspects the inbox. The service runs
as the system user alipay-msgd, its state in /var/lib/alipay-msgd.")
# adduser for the postinst; the shared libraries come from dpkg-shlibdeps.
# The libraries the daemon loads only when configured to use them (libpq for a PostgreSQL inbox,
# hiredis and libnats for the redis: and nats: sinks: src/base/shared_library.h) are not seen by
# dpkg-shlibdeps; their packages come from the configure (alipaymsg_on_demand_library).
set(CPACK_DEBIAN_DAEMON_PACKAGE_DEPENDS
    "adduser, ${ALIPAYMSG_LIBPQ_PACKAGE}, ${ALIPAYMSG_HIREDIS_PACKAGE}, ${ALIPAYMSG_NATS_PACKAGE}")
set(CPACK_DEBIAN_DAEMON_PACKAGE_CONTROL_EXTRA
  ${ALIPAYMSG_PACKAGING_DIR}/debian/postinst
  ${ALIPAYMSG_PACKAGING_DIR}/debian/prerm
  ${ALIPAYMSG_PACKAGING_DIR}/debian/postrm
  ${ALIPAYMSG_PACKAGING_DIR}/debian/conffiles)

set(CPACK_DEBIAN_SIM_PACKAGE_NAME alipay-msg-sim)
set(CPACK_DEBIAN_SIM_PACKAGE_SECTION net)
set(CPACK_COMPONENT_SIM_DESCRIPTION "Receive Alipay Open Platform messages - local Alipay simulator
alipay-msg-sim speaks Alipay's open-channel protocol locally (register.do,
WebSocket long connection, pushes, acks, redelivery) so that a receiver can be
tried and tested without reaching Alipay.")

include(CPack)
