"""What is trained: class sizes, the anchor kinds of a batch or sampler, the SSEM Gram
entries, the symmetric family's polyhedron and the class-count law of a sampler (L2)."""

from ._batch import (
    Batch as Batch,
    takes_convention as takes_convention,
)
from ._dataset import (
    MAX_UNIFORM_BATCH as MAX_UNIFORM_BATCH,
    Dataset as Dataset,
    Sampler as Sampler,
    all_subsets as all_subsets,
    balanced as balanced,
    fixed_partition as fixed_partition,
    parse_sampler as parse_sampler,
    uniform as uniform,
)
from ._anchors import (
    anchor_weights as anchor_weights,
    positives as positives,
    blocks as blocks,
    check_anchor as check_anchor,
    check_part as check_part,
    check_sizes as check_sizes,
    coordinate_type as coordinate_type,
    Family as Family,
    family as family,
    flat as flat,
    level_parts as level_parts,
    loss_weights as loss_weights,
    MAX_GROUPS as MAX_GROUPS,
    sigmoid_rows as sigmoid_rows,
    used_terms as used_terms,
)
from ._hierarchy import (
    HIERARCHY_DIRECTIONS as HIERARCHY_DIRECTIONS,
    Hierarchy as Hierarchy,
    hierarchy_eigenvalues as hierarchy_eigenvalues,
    hierarchy_polyhedron as hierarchy_polyhedron,
    level_collapse as level_collapse,
    level_variances as level_variances,
    u_sym as u_sym,
)
from ._paired import (
    PAIRED_COORDINATES as PAIRED_COORDINATES,
    Paired as Paired,
    paired_eigenvalues as paired_eigenvalues,
    paired_polyhedron as paired_polyhedron,
)
from ._mixture import (
    mixture as mixture,
)
from ._model import (
    c_sym as c_sym,
    gram_entries as gram_entries,
    measured_variances as measured_variances,
    realise as realise,
    ssem_eigenvalues as ssem_eigenvalues,
    o_sym as o_sym,
    ssem_variances as ssem_variances,
    symmetric_gram_eigenvalues as symmetric_gram_eigenvalues,
    v_sym as v_sym,
)
from ._polyhedron import (
    collapsed as collapsed,
    eigen_variances as eigen_variances,
    dataset_polyhedron as dataset_polyhedron,
    limit_polyhedron as limit_polyhedron,
    polyhedron as polyhedron,
    Polyhedron as Polyhedron,
    sorted_names as sorted_names,
    variances as variances,
)
from ._sizes import (
    ClassSizes as ClassSizes,
)

__all__ = [
    "Batch", "Dataset", "MAX_GROUPS", "MAX_UNIFORM_BATCH", "Sampler", "all_subsets", "balanced",
    "fixed_partition", "parse_sampler", "takes_convention", "uniform",
    "HIERARCHY_DIRECTIONS", "Hierarchy", "hierarchy_eigenvalues", "hierarchy_polyhedron",
    "level_collapse", "level_parts", "level_variances", "u_sym",
    "PAIRED_COORDINATES", "Paired", "check_anchor", "check_part", "used_terms",
    "paired_eigenvalues", "paired_polyhedron",
    "ClassSizes", "Family", "Polyhedron", "anchor_weights", "blocks", "c_sym", "check_sizes",
    "coordinate_type", "collapsed", "positives",
    "dataset_polyhedron", "eigen_variances", "family", "flat", "gram_entries",
    "limit_polyhedron", "loss_weights",
    "measured_variances", "realise", "ssem_eigenvalues", "mixture", "o_sym", "polyhedron",

    "sigmoid_rows", "sorted_names", "ssem_variances", "symmetric_gram_eigenvalues", "v_sym",
    "variances",
]
