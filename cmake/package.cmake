# The Debian package: `cpack -G DEB` in a build directory configured with
# -DCMAKE_INSTALL_PREFIX=/usr (scripts/package.sh builds, installs and
# removes it). Its contents are the install rules; its dependencies come from
# dpkg-shlibdeps (packages dpkg-dev and file) over the installed binaries.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME shoal)
set(CPACK_PACKAGE_VENDOR "the shoal authors")
set(CPACK_PACKAGE_CONTACT "the shoal authors <shoal@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "batch runner: one job over many files or list items, on every core")
# The long description, as lines under 80 columns (dpkg shows them as written).
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "shoal runs one job (a command, a SHA-256 digest, or a plugin's function)"
  "over every file of a tree or every line of a list, with one worker process"
  "per core. Each run keeps a directory of records: what succeeded, what"
  "failed and why, and a list of the failed items that is itself a valid"
  "input, so that a run is retried or resumed on exactly what is left."
  "Runs also split into Slurm job arrays."
  "This package includes the C header for plugins, with pkg-config and CMake"
  "package files.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# Debian's packages ship stripped binaries.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # shoal_<version>_<arch>.deb
if(NOT CPACK_DEBIAN_PACKAGE_MAINTAINER)
  set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${CPACK_PACKAGE_CONTACT})
endif()
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# handler = "python" runs its workers in the python executable when it is
# there (python/worker_host.cc), else in shoal-worker, which embeds libpython.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS python3)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# Compressed man pages and a changelog, as Debian's policy asks (a .deb only).
set(CPACK_PRE_BUILD_SCRIPTS ${PROJECT_SOURCE_DIR}/cmake/deb_prebuild.cmake)

include(CPack)
