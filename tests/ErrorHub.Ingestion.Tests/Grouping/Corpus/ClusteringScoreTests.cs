using FluentAssertions;
using Xunit;

namespace ErrorHub.Ingestion.Tests.Grouping.Corpus;

public sealed class ClusteringScoreTests
{
    [Fact]
    public void A_grouping_equal_to_the_labels_scores_1_whatever_the_names()
    {
        var score = ClusteringScore.Of(["a", "a", "b", "c"], ["x", "x", "y", "z"]);

        score.PairwiseF1.Should().Be(1);
        score.BCubedF1.Should().Be(1);
    }

    [Fact]
    public void Merging_everything_costs_precision_and_splitting_everything_recall()
    {
        var merged = ClusteringScore.Of(["a", "a", "b"], ["x", "x", "x"]);
        var split = ClusteringScore.Of(["a", "a", "b"], ["x", "y", "z"]);

        // Pairs: (0,1) belong together and are together; (0,2), (1,2) are together wrongly.
        merged.PairwisePrecision.Should().BeApproximately(1.0 / 3, 1e-9);
        merged.PairwiseRecall.Should().Be(1);
        merged.PairwiseF1.Should().BeApproximately(0.5, 1e-9);
        // Per item: 2/3, 2/3 and 1/3 of its group is its bug.
        merged.BCubedPrecision.Should().BeApproximately(5.0 / 9, 1e-9);
        merged.BCubedRecall.Should().Be(1);

        split.PairwisePrecision.Should().Be(1, "no pair was put together");
        split.PairwiseRecall.Should().Be(0);
        split.BCubedRecall.Should().BeApproximately(2.0 / 3, 1e-9, "items 0 and 1 find half their bug, item 2 all of it");
    }
}
