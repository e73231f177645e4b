# `cmake --install BUILD [--prefix P]`: the walship binary, stripped, with its
# debug info split off into lib/debug/ (found by gdb through the
# .gnu_debuglink section); a man page per command; a systemd unit
# (docs/operations.md, "Installing on a server").
include(GNUInstallDirs)

install(TARGETS walship RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(CODE [[
  set(bin "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/bin/walship")
  set(debug_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/debug/bin")
  file(MAKE_DIRECTORY "${debug_dir}")
  execute_process(COMMAND objcopy --only-keep-debug "${bin}" "${debug_dir}/walship.debug"
                  COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND objcopy --strip-debug --strip-unneeded
                          "--add-gnu-debuglink=${debug_dir}/walship.debug" "${bin}"
                  COMMAND_ERROR_IS_FATAL ANY)
  message(STATUS "Stripped: ${bin} (debug info in ${debug_dir}/walship.debug)")
]])

file(GLOB walship_man_pages ${CMAKE_SOURCE_DIR}/man/*.1)
install(FILES ${walship_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

configure_file(${CMAKE_SOURCE_DIR}/packaging/walship.service.in
               ${CMAKE_BINARY_DIR}/packaging/walship.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/packaging/walship.service DESTINATION lib/systemd/system)
