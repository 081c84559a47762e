using Worker.Tests.Fakes;

namespace Worker.Tests.Architecture;

/// <summary>
/// The feature folders of src/Worker use each other without cycles, in the layers docs/architecture.md describes, and
/// only Program.cs uses the composition root (Hosting). Read from the sources, so a new <c>using</c> that closes a cycle
/// fails here, naming the cycle and the lines that make it.
/// </summary>
public sealed class FeatureDependencyTests
{
    private static readonly FeatureGraph Features = FeatureGraph.Read(Path.Combine(Repository.Root(), "src", "Worker"));

    [Fact]
    public void The_feature_folders_use_each_other_without_a_cycle()
    {
        var cycle = Features.FindCycle();

        Assert.True(cycle is null, cycle is null ? "" :
            $"The feature folders of src/Worker form a cycle; move a type to the folder that owns it, or put an interface in the " +
            $"lower folder (docs/architecture.md):{Environment.NewLine}{Features.Describe(cycle)}");
    }

    [Fact]
    public void Only_the_entry_point_uses_the_composition_root()
    {
        var users = Features.UsersOf("Hosting").Where(u => u.Node != "Program").Select(u => $"{u.Node}: {u.Where}").ToList();

        Assert.True(users.Count == 0, $"Hosting is the composition root, used by Program.cs only:{Environment.NewLine}{string.Join(Environment.NewLine, users)}");
    }

    [Fact]
    public void The_root_namespace_uses_no_feature() =>
        Assert.Empty(Features.Uses(FeatureGraph.RootNamespace));

    [Fact]
    public void Every_file_is_in_the_namespace_of_its_folder() =>
        Assert.Empty(Features.Misplaced);

    [Fact]
    public void The_graph_sees_the_features_and_their_uses()
    {
        Assert.Contains("Requests", Features.Folders);
        Assert.Contains("Requests", Features.Uses("Messaging"));
        Assert.Contains("Hosting", Features.Uses("Program"));
    }

    [Fact]
    public void A_cycle_through_a_using_or_a_qualified_name_is_found_and_named()
    {
        var tree = Directory.CreateTempSubdirectory("feature-graph-");
        try
        {
            Write(tree, "Low/Rows.cs", "namespace Worker.Low;\n\npublic sealed class Row;\n");
            Write(tree, "High/Runner.cs", "using Worker.Low;\n\nnamespace Worker.High;\n\npublic sealed class Runner(Row row);\n");
            Assert.Null(FeatureGraph.Read(tree.FullName).FindCycle());

            Write(tree, "Low/Back.cs", "namespace Worker.Low;\n\npublic sealed class Back(High.Runner runner);\n");
            var graph = FeatureGraph.Read(tree.FullName);

            Assert.Equal(["High", "Low", "High"], graph.FindCycle());
            Assert.Contains("Low/Back.cs:3: public sealed class Back(High.Runner runner);", graph.Describe(graph.FindCycle()!), StringComparison.Ordinal);
        }
        finally
        {
            tree.Delete(recursive: true);
        }
    }

    private static void Write(DirectoryInfo tree, string path, string text)
    {
        var file = Path.Combine(tree.FullName, path);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, text);
    }
}
