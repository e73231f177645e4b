module golden-ltx

go 1.23

require github.com/superfly/ltx v0.5.3-0.20260812161416-8cb8f8ebaf8f

require github.com/pierrec/lz4/v4 v4.1.23 // indirect

replace github.com/superfly/ltx => ../deps/ltx

replace github.com/pierrec/lz4/v4 => ../deps/lz4
