# Sanitizer builds (issue 6), keyed on the cache variable FAULTLINE_SANITIZER:
#
#   asan   AddressSanitizer + UndefinedBehaviorSanitizer (clang preset `asan`,
#          gcc preset `gcc-asan`); UB is fatal (-fno-sanitize-recover)
#   tsan   ThreadSanitizer (clang preset `tsan`)
#   ubsan  UndefinedBehaviorSanitizer alone, trapping: no runtime, a UB check
#          that fails executes ud2 (SIGILL) where it happened (preset `ubsan`)
#
# The root CMakeLists.txt includes this file before any target exists and
# calls faultline_sanitizer_finalize() after the last one: every target of the
# project then gets the flags, except those marked with
# faultline_no_sanitizer() (programs that must crash the raw way, and the crash
# library that is preloaded into uninstrumented processes).
#
# Run-time options: sanitizers/{asan,ubsan,lsan,tsan}.options hold the
# defaults, one option per line with a comment saying why. They are compiled
# into every instrumented executable (__asan_default_options & co., so a test,
# `faultline run`, `faultline matrix` and a hand-run program all get them) and
# written to <build>/sanitizers/env.sh; ASAN_OPTIONS & co. in the environment
# still override them option by option. Suppression files sit beside them:
# each suppression carries a comment saying what it hides and why that is not
# our bug.
set_property(CACHE FAULTLINE_SANITIZER PROPERTY STRINGS "" asan tsan ubsan)
set(FAULTLINE_SANITIZERS_DIR ${CMAKE_CURRENT_LIST_DIR})
set(FAULTLINE_SANITIZER_COMPILE_OPTIONS "")
set(FAULTLINE_SANITIZER_LINK_OPTIONS "")
# Tests that belong to the sanitizer suites add this label (empty in other trees).
set(FAULTLINE_SANITIZER_LABEL "")

function(faultline_no_sanitizer)
  set_target_properties(${ARGN} PROPERTIES FAULTLINE_NO_SANITIZER ON)
endfunction()

if(FAULTLINE_SANITIZER STREQUAL "")
  function(faultline_sanitizer_finalize)
  endfunction()
  return()
endif()

if(NOT FAULTLINE_SANITIZER MATCHES "^(asan|tsan|ubsan)$")
  message(FATAL_ERROR "FAULTLINE_SANITIZER=${FAULTLINE_SANITIZER}: expected asan, tsan or ubsan")
endif()
set(FAULTLINE_SANITIZER_LABEL sanitizer)

# Frame pointers everywhere: the reports' stacks come from the fast unwinder.
set(_common -fno-omit-frame-pointer)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC's manual: sanitizers raise the rate of false -Wmaybe-uninitialized
  # warnings. GCC 12 + ASan reports them inside libstdc++'s <regex>
  # (std::function in the NFA state); every other warning stays an error.
  list(APPEND _common -Wno-maybe-uninitialized)
endif()
if(FAULTLINE_SANITIZER STREQUAL "asan")
  set(_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  set(FAULTLINE_SANITIZER_COMPILE_OPTIONS ${_flags} ${_common})
  set(FAULTLINE_SANITIZER_LINK_OPTIONS ${_flags})
  set(_tools asan ubsan lsan)
elseif(FAULTLINE_SANITIZER STREQUAL "tsan")
  set(FAULTLINE_SANITIZER_COMPILE_OPTIONS -fsanitize=thread ${_common})
  set(FAULTLINE_SANITIZER_LINK_OPTIONS -fsanitize=thread)
  set(_tools tsan)
else()  # ubsan, trapping
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # vptr needs the runtime; every other check traps.
    set(_flags -fsanitize=undefined -fno-sanitize=vptr -fsanitize-trap=undefined)
  else()
    set(_flags -fsanitize=undefined -fno-sanitize=vptr -fsanitize-undefined-trap-on-error)
  endif()
  # Tests that expect a raw signal expect SIGILL from a trapped check instead.
  set(FAULTLINE_SANITIZER_COMPILE_OPTIONS ${_flags} ${_common} -DFAULTLINE_UBSAN_TRAP=1)
  set(FAULTLINE_SANITIZER_LINK_OPTIONS ${_flags})
  set(_tools "")
endif()

# ---- run-time options: <tool>.options -> "a=1:b=2" ----
# @SANITIZERS_DIR@ in a value is this folder (suppression files).
function(_faultline_read_options tool out)
  file(STRINGS ${FAULTLINE_SANITIZERS_DIR}/${tool}.options _lines)
  set(_opts "")
  foreach(line IN LISTS _lines)
    string(REGEX REPLACE "#.*$" "" line "${line}")
    string(STRIP "${line}" line)
    if(line STREQUAL "")
      continue()
    endif()
    string(REPLACE "@SANITIZERS_DIR@" "${FAULTLINE_SANITIZERS_DIR}" line "${line}")
    list(APPEND _opts "${line}")
  endforeach()
  string(REPLACE ";" ":" _opts "${_opts}")
  set(${out} "${_opts}" PARENT_SCOPE)
endfunction()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${FAULTLINE_SANITIZERS_DIR}/asan.options ${FAULTLINE_SANITIZERS_DIR}/ubsan.options
             ${FAULTLINE_SANITIZERS_DIR}/lsan.options ${FAULTLINE_SANITIZERS_DIR}/tsan.options)

set(_defaults_c "/* Generated from the sanitizers/<tool>.options files by sanitizers/Sanitizers.cmake. */\n")
set(_env_sh "# Generated from sanitizers/*.options: the options every test of this tree runs with.\n")
string(APPEND _env_sh "# . ${PROJECT_BINARY_DIR}/sanitizers/env.sh   (before running a program by hand: same as built in)\n")
set(FAULTLINE_SANITIZER_ENV "")
foreach(tool IN LISTS _tools)
  _faultline_read_options(${tool} _opts)
  string(TOUPPER ${tool} _TOOL)
  string(APPEND _defaults_c
         "__attribute__((visibility(\"default\"), used)) const char* __${tool}_default_options(void) {\n"
         "  return \"${_opts}\";\n}\n")
  string(APPEND _env_sh "export ${_TOOL}_OPTIONS='${_opts}'\n")
  list(APPEND FAULTLINE_SANITIZER_ENV "${_TOOL}_OPTIONS=${_opts}")
endforeach()
set(FAULTLINE_SANITIZER_DEFAULTS_SOURCE ${PROJECT_BINARY_DIR}/sanitizers/default_options.c)
file(CONFIGURE OUTPUT ${FAULTLINE_SANITIZER_DEFAULTS_SOURCE} CONTENT "${_defaults_c}" @ONLY)
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/sanitizers/env.sh CONTENT "${_env_sh}" @ONLY)

message(STATUS "faultline: FAULTLINE_SANITIZER=${FAULTLINE_SANITIZER}: ${FAULTLINE_SANITIZER_COMPILE_OPTIONS}")

# Every target defined below `dir`, recursively.
function(_faultline_targets_below dir out)
  get_property(_t DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(_subs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(s IN LISTS _subs)
    _faultline_targets_below(${s} _more)
    list(APPEND _t ${_more})
  endforeach()
  set(${out} ${_t} PARENT_SCOPE)
endfunction()

# Adds the sanitizer flags to every compiled target of the project (and the
# default options to every executable), except those marked
# faultline_no_sanitizer().
function(faultline_sanitizer_finalize)
  _faultline_targets_below(${PROJECT_SOURCE_DIR} _all)
  foreach(t IN LISTS _all)
    get_target_property(_type ${t} TYPE)
    if(NOT _type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    get_target_property(_skip ${t} FAULTLINE_NO_SANITIZER)
    if(_skip)
      continue()
    endif()
    target_compile_options(${t} PRIVATE ${FAULTLINE_SANITIZER_COMPILE_OPTIONS})
    if(_type MATCHES "^(EXECUTABLE|SHARED_LIBRARY|MODULE_LIBRARY)$")
      target_link_options(${t} PRIVATE ${FAULTLINE_SANITIZER_LINK_OPTIONS})
    endif()
    if(_type STREQUAL "EXECUTABLE" AND _tools)
      target_sources(${t} PRIVATE ${FAULTLINE_SANITIZER_DEFAULTS_SOURCE})
    endif()
  endforeach()
endfunction()
