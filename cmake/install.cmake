# What `cmake --install` puts where (GNUInstallDirs, included by the top-level
# CMakeLists.txt): shoal in bin/, shoal-worker and the python handler's
# modules (python/CMakeLists.txt) in libexec/shoal/ (the rules sit
# beside those targets), and here the plugin header, the files that let a
# plugin author outside the tree find it, and the documentation and examples.
# docs/CMakeLists.txt installs the man pages and completions.
include(CMakePackageConfigHelpers)

# shoal::plugin: the include directory of <shoal/plugin.h>, for plugins built
# here (examples/plugins) and, installed, by find_package(shoal).
add_library(shoal_plugin INTERFACE)
target_include_directories(shoal_plugin INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(shoal_plugin PROPERTIES EXPORT_NAME plugin)
add_library(shoal::plugin ALIAS shoal_plugin)
install(TARGETS shoal_plugin EXPORT shoalTargets)
install(FILES ${PROJECT_SOURCE_DIR}/include/shoal/plugin.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/shoal)

# The package files hold no compiled code: they go to share/, the same for
# every architecture, where pkg-config and find_package both look.
set(SHOAL_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/shoal)
install(EXPORT shoalTargets NAMESPACE shoal:: DESTINATION ${SHOAL_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/shoalConfig.cmake.in
  ${PROJECT_BINARY_DIR}/shoalConfig.cmake
  INSTALL_DESTINATION ${SHOAL_CMAKE_DIR})
# The plugin ABI is its own number (SHOAL_PLUGIN_ABI_VERSION); before 1.0 a
# minor release may still change the rest.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/shoalConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/shoalConfig.cmake ${PROJECT_BINARY_DIR}/shoalConfigVersion.cmake
  DESTINATION ${SHOAL_CMAKE_DIR})

# shoal.pc is written when installing, not configuring, so that it names the
# prefix actually installed to (`cmake --install build --prefix P`).
install(CODE "
  set(SHOAL_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(SHOAL_PC_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  if(NOT IS_ABSOLUTE \"\${SHOAL_PC_INCLUDEDIR}\")
    set(SHOAL_PC_INCLUDEDIR \"\\\${prefix}/\${SHOAL_PC_INCLUDEDIR}\")
  endif()
  set(SHOAL_PC_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/shoal.pc.in\" \"${PROJECT_BINARY_DIR}/install/shoal.pc\" @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/install/shoal.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)

# share/doc/shoal/: the README, the licence, and the examples (settings files
# and the plugin sources with their CMakeLists.txt, which builds them against
# the installed header). Debian wants the licence as copyright.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)
# (.gitignore files are the repository's, not the examples'.)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
  PATTERN .gitignore EXCLUDE)
