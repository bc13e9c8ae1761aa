# Run by CPack (CPACK_PRE_BUILD_SCRIPTS) over the staged files of the .deb,
# before it is packed: what Debian's policy asks of a package and a plain
# `cmake --install` has no reason to do. Man pages are gzip -9n compressed
# (lintian: uncompressed-manual-page), and a native package carries
# /usr/share/doc/<package>/changelog.gz (lintian: no-changelog).
set(root ${CPACK_TEMPORARY_DIRECTORY})
find_program(GZIP gzip REQUIRED)

file(GLOB_RECURSE pages ${root}/*/share/man/*)
foreach(page IN LISTS pages)
  if(NOT page MATCHES "\\.gz$")
    execute_process(COMMAND ${GZIP} -9nf ${page} COMMAND_ERROR_IS_FATAL ANY)
  endif()
endforeach()

# One entry for the version packaged; its date honours SOURCE_DATE_EPOCH.
string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(GLOB docdir LIST_DIRECTORIES true ${root}/*/share/doc/${CPACK_PACKAGE_NAME})
if(NOT docdir)
  message(FATAL_ERROR "no share/doc/${CPACK_PACKAGE_NAME} under ${root}")
endif()
file(WRITE ${docdir}/changelog
  "${CPACK_PACKAGE_NAME} (${CPACK_PACKAGE_VERSION}) unstable; urgency=medium\n\n"
  "  * Packaged from the shoal sources with cpack (scripts/package.sh).\n\n"
  " -- ${CPACK_DEBIAN_PACKAGE_MAINTAINER}  ${date}\n")
execute_process(COMMAND ${GZIP} -9nf ${docdir}/changelog COMMAND_ERROR_IS_FATAL ANY)
