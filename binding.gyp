{
  "targets": [
    {
      "target_name": "skipstudio_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/handles.cc",
        "native/src/runtime.cc",
        "native/src/creation.cc",
        "native/src/math.cc",
        "native/src/shape.cc",
        "native/src/nn.cc",
        "native/src/inplace.cc",
        "native/src/autograd.cc",
        "native/src/prefetch.cc",
        "native/src/distributed.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch-paths.mjs include)",
        "native/shim"
      ],
      "library_dirs": ["<!@(node scripts/libtorch-paths.mjs lib)"],
      "libraries": [
        "-ltorch", "-ltorch_cpu", "-lc10", "-lgloo",
        "<!@(node -e \"const l=process.env.LIBTORCH; if(l) console.log('-Wl,-rpath,'+l+'/lib')\")"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"]
    }
  ]
}
