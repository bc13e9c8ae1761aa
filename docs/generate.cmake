# Runs the built shoal to print a generated file (a man page, a completion
# script): cmake -DSHOAL=PATH -DARGS=help|--man -DOUTPUT=FILE -P generate.cmake
# ("|" separates the arguments). Written beside, then renamed: a failed run
# leaves no half file for the next build to take as up to date.
string(REPLACE "|" ";" args "${ARGS}")
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${SHOAL}" ${args}
  OUTPUT_FILE "${OUTPUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUTPUT}.tmp")
  message(FATAL_ERROR "'${SHOAL} ${args}' failed (${rc})")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
