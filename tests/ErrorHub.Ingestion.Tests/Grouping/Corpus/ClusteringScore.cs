namespace ErrorHub.Ingestion.Tests.Grouping.Corpus;

/// <summary>
/// How well a grouping agrees with labels that say which items are the same bug. Pairwise: over all
/// pairs of items, are pairs put together that belong together (precision) and are those that belong
/// together put together (recall). B-cubed: the same question per item, averaged, so one huge wrong
/// merge does not outweigh many right singletons (Bagga and Baldwin, 1998).
/// </summary>
internal sealed record ClusteringScore(double PairwisePrecision, double PairwiseRecall, double BCubedPrecision, double BCubedRecall)
{
    public double PairwiseF1 => F1(PairwisePrecision, PairwiseRecall);

    public double BCubedF1 => F1(BCubedPrecision, BCubedRecall);

    /// <param name="labels">Each item's true cluster.</param>
    /// <param name="groups">Each item's group as grouping decided (the fingerprint).</param>
    public static ClusteringScore Of(IReadOnlyList<string> labels, IReadOnlyList<string> groups)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(labels.Count, groups.Count);
        long together = 0, sameLabel = 0, sameGroup = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            for (var j = i + 1; j < labels.Count; j++)
            {
                var label = labels[i] == labels[j];
                var group = groups[i] == groups[j];
                sameLabel += label ? 1 : 0;
                sameGroup += group ? 1 : 0;
                together += label && group ? 1 : 0;
            }
        }

        double precision = 0, recall = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            int both = 0, inGroup = 0, inLabel = 0;
            for (var j = 0; j < labels.Count; j++)
            {
                var label = labels[i] == labels[j];
                var group = groups[i] == groups[j];
                both += label && group ? 1 : 0;
                inGroup += group ? 1 : 0;
                inLabel += label ? 1 : 0;
            }

            precision += (double)both / inGroup;
            recall += (double)both / inLabel;
        }

        return new ClusteringScore(
            sameGroup == 0 ? 1 : (double)together / sameGroup,
            sameLabel == 0 ? 1 : (double)together / sameLabel,
            precision / labels.Count,
            recall / labels.Count);
    }

    private static double F1(double precision, double recall) => precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
}
