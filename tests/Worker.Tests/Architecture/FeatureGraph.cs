using System.Text.RegularExpressions;

namespace Worker.Tests.Architecture;

/// <summary>
/// Which feature folders of a source tree use which, read from the sources: a folder <c>X</c> holds namespace
/// <c>Worker.X</c> (and its sub-namespaces), and a file uses folder <c>Y</c> when it has a <c>using Worker.Y...</c>
/// directive, names <c>Worker.Y.Something</c>, or names <c>Y.Type</c> for a type declared under <c>Y</c> (a qualified name
/// resolved through the parent namespace). Files directly under the tree are the root namespace <c>Worker</c>; a file with
/// no namespace (Program.cs) is a node of its own, named after the file.
/// </summary>
internal sealed partial class FeatureGraph
{
    public const string RootNamespace = "Worker";

    // node -> used folder -> where, e.g. "Requests/ClaimLeases.cs:3: using Worker.Messaging;" (the first place found).
    private readonly SortedDictionary<string, SortedDictionary<string, string>> _edges = new(StringComparer.Ordinal);

    private FeatureGraph(IReadOnlyList<string> folders, IReadOnlyList<string> misplaced)
    {
        Folders = folders;
        Misplaced = misplaced;
    }

    /// <summary>The feature folders (top-level directories of the tree).</summary>
    public IReadOnlyList<string> Folders { get; }

    /// <summary>Files whose namespace is not the one of their folder, e.g. "Chain/X.cs: namespace Worker.Requests".</summary>
    public IReadOnlyList<string> Misplaced { get; }

    public static FeatureGraph Read(string sourceRoot)
    {
        var folders = Directory.GetDirectories(sourceRoot)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => name is not ("bin" or "obj") && !name.StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();
        var files = Directory.GetFiles(sourceRoot, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(sourceRoot, path).Replace('\\', '/'))
            .Where(path => folders.Contains(path.Split('/')[0]) || !path.Contains('/'))
            .Order(StringComparer.Ordinal)
            .Select(path => (Path: path, Text: File.ReadAllText(Path.Combine(sourceRoot, path))))
            .ToList();

        // What "Y.Name" may name: the types declared under Y and Y's sub-namespaces.
        var names = folders.ToDictionary(folder => folder, folder => files
            .Where(f => f.Path.StartsWith(folder + "/", StringComparison.Ordinal))
            .SelectMany(f => TypeDeclaration().Matches(f.Text).Select(m => m.Groups["name"].Value))
            .Concat(Directory.GetDirectories(Path.Combine(sourceRoot, folder)).Select(Path.GetFileName).OfType<string>())
            .ToHashSet(StringComparer.Ordinal));

        var misplaced = new List<string>();
        var graph = new FeatureGraph(folders, misplaced);
        foreach (var (path, text) in files)
        {
            var folder = path.Contains('/') ? path.Split('/')[0] : null;
            var node = NodeOf(path, text, out var declared);
            var expected = folder ?? (declared is null ? node : RootNamespace);
            if (node != expected)
            {
                misplaced.Add($"{path}: namespace {declared ?? "(none)"}");
            }

            var lines = text.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                if (NamespaceDeclaration().IsMatch(line))
                {
                    continue;
                }

                var used = UsingDirective().Match(line) is { Success: true } directive
                    ? [directive.Groups["folder"].Value]
                    : FullyQualified().Matches(line).Select(m => m.Groups["folder"].Value)
                        .Concat(Qualified().Matches(line)
                            .Where(m => names.TryGetValue(m.Groups["folder"].Value, out var known) && known.Contains(m.Groups["name"].Value))
                            .Select(m => m.Groups["folder"].Value));
                foreach (var target in used.Where(t => t != node && folders.Contains(t)))
                {
                    graph.Add(node, target, $"{path}:{i + 1}: {line.Trim()}");
                }
            }
        }

        return graph;
    }

    /// <summary>The folders <paramref name="node"/> uses.</summary>
    public IReadOnlyCollection<string> Uses(string node) =>
        _edges.TryGetValue(node, out var targets) ? targets.Keys : [];

    /// <summary>The nodes that use <paramref name="folder"/>, each with where.</summary>
    public IReadOnlyList<(string Node, string Where)> UsersOf(string folder) =>
        [.. _edges.Where(e => e.Value.ContainsKey(folder)).Select(e => (e.Key, e.Value[folder]))];

    /// <summary>Where <paramref name="node"/> first uses <paramref name="folder"/>.</summary>
    public string Where(string node, string folder) => _edges[node][folder];

    /// <summary>A cycle as the nodes walked, the first repeated at the end (A, B, A); null when there is none.</summary>
    public IReadOnlyList<string>? FindCycle()
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();

        IReadOnlyList<string>? Visit(string node)
        {
            if (path.IndexOf(node) is var at and >= 0)
            {
                return [.. path[at..], node];
            }

            if (!done.Add(node))
            {
                return null;
            }

            path.Add(node);
            foreach (var next in Uses(node))
            {
                if (Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            return null;
        }

        return _edges.Keys.Select(Visit).FirstOrDefault(cycle => cycle is not null);
    }

    /// <summary>A cycle with the place each of its edges comes from, one edge a line.</summary>
    public string Describe(IReadOnlyList<string> cycle) =>
        string.Join(" -> ", cycle) + Environment.NewLine +
        string.Join(Environment.NewLine, cycle.Zip(cycle.Skip(1)).Select(e => $"  {e.First} -> {e.Second}: {Where(e.First, e.Second)}"));

    private void Add(string node, string target, string where)
    {
        if (!_edges.TryGetValue(node, out var targets))
        {
            _edges[node] = targets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        }

        targets.TryAdd(target, where);
    }

    private static string NodeOf(string path, string text, out string? declared)
    {
        declared = NamespaceDeclaration().Match(text) is { Success: true } m ? m.Groups["name"].Value : null;
        if (declared is null)
        {
            return Path.GetFileNameWithoutExtension(path);
        }

        var parts = declared.Split('.');
        return parts[0] != RootNamespace ? declared : parts.Length == 1 ? RootNamespace : parts[1];
    }

    [GeneratedRegex(@"^\s*namespace\s+(?<name>[\w.]+)\s*[;{]?", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?:global::)?Worker\.(?<folder>\w+)")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"(?<![\w.])(?:global::)?Worker\.(?<folder>\w+)\.")]
    private static partial Regex FullyQualified();

    [GeneratedRegex(@"(?<![\w.:])(?<folder>\w+)\.(?<name>\w+)")]
    private static partial Regex Qualified();

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record(?:\s+(?:struct|class))?)\s+(?<name>\w+)")]
    private static partial Regex TypeDeclaration();
}
