# Install and consume: the library (its module archives, alipaymsg::alipaymsg), the public headers,
# alipaymsgConfig.cmake (+ version) for find_package, alipaymsg.pc for pkg-config, and the programs.
# Included from the top-level CMakeLists.txt once every target exists.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# In link order (a module before those it uses): the pkg-config Libs line follows it.
set(ALIPAYMSG_INSTALLED_MODULES receiver notify client dispatch http inbox protocol crypto base)
set(alipaymsg_archives "")
set(alipaymsg_pc_libs "")
foreach(module IN LISTS ALIPAYMSG_INSTALLED_MODULES)
  if(NOT TARGET alipaymsg_${module})
    message(FATAL_ERROR "alipaymsg_${module} is missing: the installed library needs it")
  endif()
  list(APPEND alipaymsg_archives alipaymsg_${module})
  string(APPEND alipaymsg_pc_libs " -lalipaymsg_${module}")
endforeach()

# Components (the Debian packages of cmake/package.cmake): dev (library, headers, CMake and pkg-config
# files), daemon (alipay-msgd, alipay-msg), sim (alipay-msg-sim). A plain `cmake --install` installs all.
install(TARGETS alipaymsg ${alipaymsg_archives} EXPORT alipaymsgTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The public API: include/alipaymsg/ (internals live under src/ and are never installed).
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/alipaymsg DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.h")

set(ALIPAYMSG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/alipaymsg)
install(EXPORT alipaymsgTargets NAMESPACE alipaymsg:: DESTINATION ${ALIPAYMSG_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/alipaymsgConfig.cmake.in
  ${CMAKE_BINARY_DIR}/cmake/alipaymsgConfig.cmake INSTALL_DESTINATION ${ALIPAYMSG_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/alipaymsgConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/alipaymsgConfig.cmake ${CMAKE_BINARY_DIR}/cmake/alipaymsgConfigVersion.cmake
  DESTINATION ${ALIPAYMSG_CMAKE_DIR} COMPONENT dev)

# Relocatable (prefix from the .pc file's own place), so `cmake --install --prefix DIR` works too.
set(ALIPAYMSG_PC_LIBS "${alipaymsg_pc_libs}")
file(RELATIVE_PATH ALIPAYMSG_PC_TO_PREFIX "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${CMAKE_SOURCE_DIR}/cmake/alipaymsg.pc.in ${CMAKE_BINARY_DIR}/cmake/alipaymsg.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/cmake/alipaymsg.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

foreach(program alipay-msgd alipay-msg alipay-msg-sim)
  if(NOT TARGET ${program})
    message(FATAL_ERROR "${program} is missing: install needs it")
  endif()
endforeach()
install(TARGETS alipay-msgd alipay-msg RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT daemon)
install(TARGETS alipay-msg-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT sim)
