"""Specification of the variation operators, constraint-dominance selection, Pareto arithmetic and the pick rule."""

import itertools
import random

import numpy as np
import pytest

from budsim.core.search.operators import (
    ConstrainedFitness,
    Individual,
    clone,
    constrained_ranks,
    cost_per_million_tokens,
    crowding_distances,
    cx_uniform,
    distinct_in_pick_order,
    dominance_matrix,
    hypervolume,
    minimization,
    mut_genes,
    nondominated_ranks,
    pareto_mask,
    pick_index,
    select_nsga2,
    select_tournament,
)


def individual(genes: list[int], objectives: tuple[float, float, float], violation: float = 0.0) -> Individual:
    ind = Individual(genes)
    ind.fitness.values = objectives
    ind.fitness.violation = violation
    return ind


# ---------------------------------------------------------------- constraint-dominance


def test_a_feasible_fitness_dominates_any_infeasible_one_however_good_its_objectives() -> None:
    slow_dear = ConstrainedFitness((10.0, 90_000.0, 100.0), violation=0.0)
    fast_cheap = ConstrainedFitness((1e6, 1.0, 0.01), violation=1e-6)
    assert slow_dear.dominates(fast_cheap)
    assert not fast_cheap.dominates(slow_dear)


def test_infeasible_fitnesses_compare_by_violation_alone() -> None:
    near = ConstrainedFitness((1.0, 1e5, 50.0), violation=0.1)
    far = ConstrainedFitness((1e6, 1.0, 0.01), violation=0.2)
    assert near.dominates(far)
    assert not far.dominates(near)


def test_feasible_fitnesses_compare_by_pareto_dominance() -> None:
    better = ConstrainedFitness((100.0, 10.0, 5.0))
    worse = ConstrainedFitness((90.0, 10.0, 5.0))
    trade_off = ConstrainedFitness((200.0, 10.0, 9.0))
    assert better.dominates(worse)
    assert not better.dominates(trade_off)
    assert not trade_off.dominates(better)


def test_ranks_put_every_feasible_front_before_the_least_violating_infeasible_point() -> None:
    points = minimization(np.array([[10.0, 900.0, 100.0], [1e6, 1.0, 0.01], [20.0, 800.0, 90.0], [5.0, 5.0, 5.0]]))
    violation = np.array([0.0, 0.3, 0.0, 0.1])
    # Feasible: row 2 dominates row 0. Infeasible after them, least violation first.
    assert constrained_ranks(points, violation).tolist() == [1, 3, 0, 2]


def test_nsga2_selection_keeps_a_feasible_config_over_a_cheaper_faster_infeasible_one() -> None:
    feasible = individual([0, 0], (10.0, 9_000.0, 24.0))
    tempting = [individual([i, 1], (5_000.0, 100.0, 1.0), violation=0.01 * (i + 1)) for i in range(5)]
    chosen = select_nsga2([*tempting, feasible], 1)
    assert chosen == [feasible]
    assert [tuple(c) for c in select_nsga2([*tempting, feasible], 3)] == [(0, 0), (0, 1), (1, 1)]


def test_nsga2_selection_takes_whole_fronts_then_the_least_crowded_of_the_last() -> None:
    # Front 0: three points on a line; the middle one is the most crowded. Front 1: one dominated point.
    front = [individual([i], (100.0 * (i + 1), 10.0 * (i + 1), 1.0)) for i in range(3)]
    dominated = individual([9], (50.0, 40.0, 2.0))
    assert sorted(select_nsga2([dominated, *front], 3)) == front
    chosen = select_nsga2([dominated, *front], 2)
    assert {tuple(c) for c in chosen} == {(0,), (2,)}  # the edges (infinite crowding) survive


def test_nsga2_selection_spends_slots_on_distinct_genomes_before_duplicates() -> None:
    best = individual([1, 1], (100.0, 1.0, 1.0))
    twin = individual([1, 1], (100.0, 1.0, 1.0))
    worse = individual([2, 2], (10.0, 10.0, 10.0))
    assert select_nsga2([best, twin, worse], 2) == [best, worse]
    assert select_nsga2([best, twin, worse], 3) == [best, worse, twin]


def test_crowding_is_zero_for_infeasible_points_and_infinite_at_front_edges() -> None:
    points = minimization(np.array([[1.0, 5.0, 1.0], [2.0, 4.0, 2.0], [3.0, 3.0, 3.0], [9.0, 1.0, 1.0]]))
    violation = np.array([0.0, 0.0, 0.0, 0.5])
    ranks = constrained_ranks(points, violation)
    crowding = crowding_distances(points, ranks, violation)
    assert crowding.tolist() == [np.inf, 3.0, np.inf, 0.0]  # middle: (3-1)/2 + (5-3)/2 + (3-1)/2


def test_tournament_prefers_lower_rank_then_higher_crowding() -> None:
    good, bad = individual([0], (1.0, 1.0, 1.0)), individual([1], (1.0, 1.0, 1.0))
    good.fitness.rank, bad.fitness.rank = 0, 3
    picks = select_tournament([good, bad], 200, rng=random.Random(0))
    # bad wins only when drawn twice: about a quarter of the time.
    assert 120 < sum(p is good for p in picks) < 180
    assert all(p is good or p is bad for p in picks)


# ---------------------------------------------------------------- variation


def test_uniform_crossover_of_distinct_parents_yields_children_unlike_either_parent() -> None:
    rng = random.Random(1)
    unlike = 0
    for _ in range(100):
        a, b = Individual([0] * 8), Individual([1] * 8)
        cx_uniform(a, b, rng=rng)
        assert all(x + y == 1 for x, y in zip(a, b, strict=True))  # genes are swapped, never invented
        unlike += (list(a) not in ([0] * 8, [1] * 8)) + (list(b) not in ([0] * 8, [1] * 8))
    assert unlike >= 198  # only an all-or-nothing swap (2 x 2^-8 per pair) reproduces a parent


def test_mutation_keeps_every_gene_within_its_options_and_always_changes_one() -> None:
    sizes = [4, 8, 7, 1, 4, 10, 3, 2]
    rng = random.Random(7)
    for start in itertools.product([0, 3], repeat=2):
        for _ in range(200):
            genes = [min(start[i % 2], s - 1) for i, s in enumerate(sizes)]
            (mutant,) = mut_genes(Individual(genes), rng=rng, sizes=sizes, indpb=0.1)
            assert all(0 <= g < s for g, s in zip(mutant, sizes, strict=True))
            assert list(mutant) != genes
            assert mutant[3] == 0  # a gene with a single option never moves


def test_a_genome_with_no_mutable_gene_is_left_alone() -> None:
    (mutant,) = mut_genes(Individual([0, 0]), rng=random.Random(0), sizes=[1, 1], indpb=1.0)
    assert list(mutant) == [0, 0]


def test_clone_copies_genes_and_fitness_independently() -> None:
    original = individual([1, 2, 3], (1.0, 2.0, 3.0), violation=0.5)
    twin = clone(original)
    twin[0] = 9
    del twin.fitness.values
    assert list(original) == [1, 2, 3]
    assert original.fitness.values == (1.0, 2.0, 3.0)
    assert twin.fitness.violation == 0.5


# ---------------------------------------------------------------- Pareto arithmetic


def test_pareto_mask_agrees_with_the_brute_force_definition() -> None:
    rng = np.random.default_rng(3)
    points = rng.integers(0, 12, size=(1500, 3)).astype(float)  # many ties and duplicates
    brute = ~dominance_matrix(points).any(axis=0)
    assert pareto_mask(points, block=64).tolist() == brute.tolist()
    assert (nondominated_ranks(points) == 0).tolist() == brute.tolist()


def test_hypervolume_of_known_sets() -> None:
    ref = np.array([4.0, 4.0, 4.0])
    assert hypervolume(np.array([[1.0, 1.0, 1.0]]), ref) == 27.0
    # Two boxes 3x1x1... overlapping: [1,4]x[3,4]x[3,4] = 3 and [3,4]x[1,4]x[1,4] = 9, overlap [3,4]x[3,4]x[3,4] = 1.
    assert hypervolume(np.array([[1.0, 3.0, 3.0], [3.0, 1.0, 1.0]]), ref) == 11.0
    assert hypervolume(np.array([[5.0, 0.0, 0.0]]), ref) == 0.0  # outside the reference box


def test_hypervolume_matches_moocore() -> None:
    moocore = pytest.importorskip("moocore")  # DEAP's own hypervolume backend, when installed
    rng = np.random.default_rng(5)
    points = rng.random((60, 3))
    ref = np.array([1.1, 1.1, 1.1])
    assert hypervolume(points, ref) == pytest.approx(float(moocore.hypervolume(points, ref=ref)), rel=1e-12)


# ---------------------------------------------------------------- the pick rule


def test_the_pick_is_the_lowest_cost_per_million_output_tokens() -> None:
    # (throughput tok/s, p99 ms, $/h): $/Mtok = 10/(1000*3600)*1e6 = 2.78, 4/(500*3600)*1e6 = 2.22, 3/(300*3600)... 2.78
    objectives = np.array([[1000.0, 100.0, 10.0], [500.0, 900.0, 4.0], [300.0, 50.0, 3.0]])
    assert cost_per_million_tokens(objectives).round(3).tolist() == [2.778, 2.222, 2.778]
    assert pick_index(objectives) == 1


def test_pick_ties_go_to_higher_throughput_then_lower_latency() -> None:
    twice = np.array([[1000.0, 100.0, 10.0], [2000.0, 300.0, 20.0], [2000.0, 200.0, 20.0]])
    assert pick_index(twice) == 2
    # Throughputs equal but for floating-point noise in the last bits count as equal: latency decides.
    noisy = np.array([[1280.0000000000002, 900.0, 3.0], [1280.0, 100.0, 3.0]])
    assert pick_index(noisy) == 1


def test_a_config_that_serves_nothing_is_never_picked_while_another_serves() -> None:
    assert pick_index(np.array([[0.0, 1.0, 0.1], [10.0, 1e5, 50.0]])) == 1


def test_distinct_in_pick_order_lists_one_config_per_objective_vector() -> None:
    objectives = np.array([[10.0, 5.0, 2.0], [20.0, 5.0, 2.0], [10.0, 5.0, 2.0], [20.0, 5.0, 2.0]])
    assert distinct_in_pick_order(objectives).tolist() == [1, 0]
