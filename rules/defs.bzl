"""Public API of the Rococo Bazel rules.

All public rules, macros and providers are loaded here under private aliases
and re-exported; everything in rules/private/ is private and may change.

```starlark
load("//rules:defs.bzl", "rococo_service")

rococo_service(
    name = "email_rabbitmq",
    embed = [":email_rabbitmq_lib"],
    execution_type = "MESSAGING",
    messaging_type = "RabbitMqConnection",
    processor_type = "EmailServiceProcessor",
    env = {"EmailServiceProcessor_QUEUE_NAME": "email"},
    version = "1.0.0",
)
```

See rules/README.md.
"""

load("//rules/private:image.bzl", _RococoImageInfo = "RococoImageInfo", _rococo_image_rule = "rococo_image_rule", _rococo_platform_layout = "rococo_platform_layout")
load("//rules/private:push.bzl", _rococo_load_rule = "rococo_load_rule", _rococo_push_all_rule = "rococo_push_all_rule", _rococo_push_rule = "rococo_push_rule")
load("//rules/private:service.bzl", _rococo_push_all = "rococo_push_all", _rococo_service = "rococo_service")
load("//rules/private:tests.bzl", _rococo_image_test = "rococo_image_test", _rococo_layout_test = "rococo_layout_test")
load("//rules/private:validate.bzl", _image_env = "image_env", _validate_attrs = "validate_attrs")

rococo_service = _rococo_service
rococo_push_all = _rococo_push_all

rococo_image_rule = _rococo_image_rule
rococo_platform_layout = _rococo_platform_layout
rococo_push_rule = _rococo_push_rule
rococo_push_all_rule = _rococo_push_all_rule
rococo_load_rule = _rococo_load_rule
rococo_image_test = _rococo_image_test
rococo_layout_test = _rococo_layout_test
RococoImageInfo = _RococoImageInfo

# The pure helpers rococo_service checks attributes with, for other macros.
rococo_validate_attrs = _validate_attrs
rococo_image_env = _image_env
