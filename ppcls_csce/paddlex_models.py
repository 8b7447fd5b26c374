"""PaddleX's image-classification models, for when no paddlex package is installed to read them from.

Copied from PaddleX 3.7.2's paddlex/modules/image_classification/model_list.py (tests/test_paddlex.py holds
it to the installed package's list when one is there).
"""

PADDLEX_VERSION = "3.7.2"  # the PaddleX whose source the rewrites in paddlex.py were read from
CLS_MODELS = (
    "CLIP_vit_base_patch16_224", "CLIP_vit_large_patch14_224", "ConvNeXt_tiny", "ConvNeXt_small",
    "ConvNeXt_base_224", "ConvNeXt_base_384", "ConvNeXt_large_224", "ConvNeXt_large_384", "MobileNetV1_x0_25",
    "MobileNetV1_x0_5", "MobileNetV1_x0_75", "MobileNetV1_x1_0", "MobileNetV2_x0_25", "MobileNetV2_x0_5",
    "MobileNetV2_x1_0", "MobileNetV2_x1_5", "MobileNetV2_x2_0", "MobileNetV3_large_x0_35",
    "MobileNetV3_large_x0_5", "MobileNetV3_large_x0_75", "MobileNetV3_large_x1_0", "MobileNetV3_large_x1_25",
    "MobileNetV3_small_x0_35", "MobileNetV3_small_x0_5", "MobileNetV3_small_x0_75", "MobileNetV3_small_x1_0",
    "MobileNetV3_small_x1_25", "MobileNetV4_conv_small", "MobileNetV4_conv_medium", "MobileNetV4_conv_large",
    "MobileNetV4_hybrid_medium", "MobileNetV4_hybrid_large", "PP-HGNet_tiny", "PP-HGNet_small", "PP-HGNet_base",
    "PP-HGNetV2-B0", "PP-HGNetV2-B1", "PP-HGNetV2-B2", "PP-HGNetV2-B3", "PP-HGNetV2-B4", "PP-HGNetV2-B5",
    "PP-HGNetV2-B6", "PP-LCNet_x0_25", "PP-LCNet_x0_25_textline_ori", "PP-LCNet_x0_35", "PP-LCNet_x0_5",
    "PP-LCNet_x0_75", "PP-LCNet_x1_0", "PP-LCNet_x1_0_doc_ori", "PP-LCNet_x1_0_textline_ori", "PP-LCNet_x1_5",
    "PP-LCNet_x2_0", "PP-LCNet_x2_5", "PP-LCNetV2_small", "PP-LCNetV2_base", "PP-LCNetV2_large", "ResNet101",
    "ResNet152", "ResNet18", "ResNet34", "ResNet50", "ResNet200_vd", "ResNet101_vd", "ResNet152_vd",
    "ResNet18_vd", "ResNet34_vd", "ResNet50_vd", "SwinTransformer_tiny_patch4_window7_224",
    "SwinTransformer_small_patch4_window7_224", "SwinTransformer_base_patch4_window7_224",
    "SwinTransformer_base_patch4_window12_384", "SwinTransformer_large_patch4_window7_224",
    "SwinTransformer_large_patch4_window12_384", "StarNet-S1", "StarNet-S2", "StarNet-S3", "StarNet-S4",
    "FasterNet-L", "FasterNet-M", "FasterNet-S", "FasterNet-T0", "FasterNet-T1", "FasterNet-T2",
    "PP-LCNet_x1_0_table_cls",
)
