# `faultline matrix --bisect-opt` end to end on the purpose-built project in
# opt_bisect/ (see its CMakeLists.txt): configure + build with clang through
# the matrix, one-unit rebuilds per limit, the search, matrix.json.
# Checks, none of them hard-coding the limit:
#  - broken: found; the pass and its target at K are what clang's own output
#    says when the unit is compiled with -opt-bisect-limit=K (recomputed here
#    from the tree's compile command); by construction that is the inliner on
#    g(long, long); the kept programs at K and at the last passing limit fail
#    and pass; last passing = K-1; every probed limit linked.
#  - fixed: passes with no limit (nothing to bisect); always: fails at K=0.
#  - a gcc build only: clear error, exit 2.
# Inputs: FAULTLINE, FIXTURE (the project), WORK, CLANGXX, GXX.
cmake_minimum_required(VERSION 3.25)
if(NOT CLANGXX OR NOT EXISTS "${CLANGXX}")
  message("SKIP: clang++ not found; --bisect-opt needs clang")
  return()
endif()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
string(TIMESTAMP t0 "%s")

execute_process(
  COMMAND ${FAULTLINE} matrix --source ${FIXTURE} --build-root ${WORK}/build --builds clang-o2
          --scenario test/inline-stale-rdi --repeat 2 --bisect-opt --bisect-repeat 2
          --results ${WORK}/results --run-id b1
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 280)
message(STATUS "faultline matrix --bisect-opt: exit ${rc}\n${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "faultline matrix --bisect-opt exited ${rc}\n${err}")
endif()
file(READ ${WORK}/results/b1/matrix.json mx)
string(JSON n LENGTH "${mx}" bisect_opt)
set(seen "")
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON variant GET "${mx}" bisect_opt ${i} variant)
  string(JSON status GET "${mx}" bisect_opt ${i} result status)
  list(APPEND seen "${variant}=${status}")
  if(variant STREQUAL "broken")
    set(broken ${i})
  endif()
endforeach()
foreach(want "broken=found" "fixed=passes_without_limit" "always=fails_at_zero")
  if(NOT want IN_LIST seen)
    message(FATAL_ERROR "matrix.json bisect_opt: expected ${want}, got ${seen}")
  endif()
endforeach()
string(JSON K GET "${mx}" bisect_opt ${broken} result first_failing_limit)
string(JSON lastpass GET "${mx}" bisect_opt ${broken} result last_passing_limit)
string(JSON pass GET "${mx}" bisect_opt ${broken} result pass)
string(JSON on GET "${mx}" bisect_opt ${broken} result on)
string(JSON fn GET "${mx}" bisect_opt ${broken} result function_demangled)
string(JSON steps GET "${mx}" bisect_opt ${broken} result steps)
string(JSON failprog GET "${mx}" bisect_opt ${broken} result first_failing_program)
string(JSON passprog GET "${mx}" bisect_opt ${broken} result last_passing_program)
string(JSON unbuildable ERROR_VARIABLE no_unbuildable GET "${mx}" bisect_opt ${broken} result unbuildable_limits)
message(STATUS "reported: K=${K} (last passing ${lastpass}), ${pass} on ${on} = ${fn}, ${steps} steps")
if(NOT no_unbuildable)
  message(FATAL_ERROR "some limits did not build (${unbuildable}): the one-unit relink must link every limit")
endif()
math(EXPR km1 "${K} - 1")
if(NOT lastpass EQUAL km1)
  message(FATAL_ERROR "last passing limit ${lastpass} is not K-1 = ${km1}")
endif()

# What clang itself says at K: the tree's compile command of the unit, plus the limit.
file(READ ${WORK}/build/clang-o2/compile_commands.json db)
string(JSON nc LENGTH "${db}")
math(EXPR lastc "${nc} - 1")
set(cmd "")
foreach(i RANGE ${lastc})
  string(JSON file GET "${db}" ${i} file)
  if(file MATCHES "unit\\.cc$")
    string(JSON cmd GET "${db}" ${i} command)
    string(JSON dir GET "${db}" ${i} directory)
  endif()
endforeach()
if(cmd STREQUAL "")
  message(FATAL_ERROR "unit.cc not in compile_commands.json")
endif()
separate_arguments(argv UNIX_COMMAND "${cmd}")
list(FIND argv "-o" o)
math(EXPR o "${o} + 1")
list(REMOVE_AT argv ${o})
list(INSERT argv ${o} ${WORK}/clang-says.o)
execute_process(COMMAND ${argv} -mllvm -opt-bisect-limit=${K} WORKING_DIRECTORY ${dir}
                RESULT_VARIABLE crc ERROR_VARIABLE clang_log OUTPUT_QUIET)
if(NOT crc EQUAL 0)
  message(FATAL_ERROR "compiling the unit at limit ${K} failed")
endif()
if(NOT clang_log MATCHES "BISECT: running pass \\(${K}\\) ([^\n]*) on ([^\n]*)")
  message(FATAL_ERROR "clang printed no line for pass ${K}")
endif()
set(clang_pass "${CMAKE_MATCH_1}")
set(clang_on "${CMAKE_MATCH_2}")
message(STATUS "clang at limit ${K}: ${clang_pass} on ${clang_on}")
if(NOT pass STREQUAL clang_pass OR NOT on STREQUAL clang_on)
  message(FATAL_ERROR "reported '${pass} on ${on}', clang says '${clang_pass} on ${clang_on}'")
endif()
# By construction (opt_bisect/unit.cc): the inliner putting f into g breaks it.
if(NOT clang_pass STREQUAL "InlinerPass" OR NOT fn STREQUAL "g(long, long)")
  message(FATAL_ERROR "expected the inliner on g(long, long), got ${clang_pass} on ${fn}")
endif()
# The answer is exact: K fails, K-1 passes (the programs the search kept).
execute_process(COMMAND ${failprog} --variant broken RESULT_VARIABLE frc OUTPUT_VARIABLE fout)
execute_process(COMMAND ${passprog} --variant broken RESULT_VARIABLE prc OUTPUT_VARIABLE pout)
message(STATUS "at ${K}: ${fout}at ${km1}: ${pout}")
if(NOT frc EQUAL 1 OR NOT prc EQUAL 0)
  message(FATAL_ERROR "program at K=${K} exited ${frc} (want 1), at K-1 exited ${prc} (want 0)")
endif()
if(NOT out MATCHES "first failing -opt-bisect-limit=${K}: pass InlinerPass on g\\(long, long\\)")
  message(FATAL_ERROR "the table does not print the answer")
endif()

# A gcc build only: a clear error, exit 2.
if(GXX AND EXISTS "${GXX}")
  execute_process(
    COMMAND ${FAULTLINE} matrix --source ${FIXTURE} --build-root ${WORK}/build --builds gcc-o2
            --scenario test/inline-stale-rdi --variants broken --repeat 1 --bisect-opt
            --results ${WORK}/results --run-id g1
    RESULT_VARIABLE grc OUTPUT_VARIABLE gout ERROR_VARIABLE gerr TIMEOUT 200)
  message(STATUS "gcc only: exit ${grc}\n${gout}")
  if(NOT grc EQUAL 2 OR NOT gout MATCHES "needs a clang build: gcc-o2 is built with GNU")
    message(FATAL_ERROR "--bisect-opt on a gcc build must fail clearly with exit 2 (got ${grc})\n${gout}\n${gerr}")
  endif()
endif()
string(TIMESTAMP t1 "%s")
math(EXPR dt "${t1} - ${t0}")
message(STATUS "done in ${dt} s")
