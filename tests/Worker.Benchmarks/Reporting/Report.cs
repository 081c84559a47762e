using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Benchmarks.Reporting;

/// <summary>The run as a whole: where, what, and every scenario's result.</summary>
public sealed record RunReport(
    string Command,
    string Commit,
    DateTimeOffset StartedAt,
    double Minutes,
    Machine Machine,
    IReadOnlyDictionary<string, string> ExtraWorkerSettings,
    IReadOnlyList<ScenarioResult> Scenarios)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // ">=" rather than "\u003E=": the file is for people and scripts, never embedded in HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <c>{name}.md</c> and <c>{name}.json</c> into <paramref name="directory"/>; returns the markdown.</summary>
    public string Write(string directory, string name)
    {
        Directory.CreateDirectory(directory);
        var markdown = ToMarkdown();
        File.WriteAllText(Path.Combine(directory, name + ".md"), markdown);
        File.WriteAllText(Path.Combine(directory, name + ".json"), JsonSerializer.Serialize(this, Json) + "\n");
        return markdown;
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmark results").AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"`{Command}` at commit {Commit}, {StartedAt:yyyy-MM-dd HH:mm} UTC, {Minutes:0.0} min (build excluded).  ");
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine.Summary}.  ");
        if (ExtraWorkerSettings.Count > 0)
            md.AppendLine(CultureInfo.InvariantCulture, $"What-if run, every worker also had: {string.Join(", ", ExtraWorkerSettings.Select(kv => $"`{kv.Key}={kv.Value}`"))}.  ");
        var busy = Scenarios.Where(s => s.Concurrent.Count > 0).Select(s => $"{s.Name} ({string.Join(", ", s.Concurrent)})").ToList();
        var loads = string.Join(", ", Scenarios.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Name} {s.LoadBefore:0.0}")));
        md.Append(CultureInfo.InvariantCulture, $"Load average (1 min) at scenario starts: {loads}. ");
        md.AppendLine(busy.Count == 0 ? "No competing test run or build was seen." : $"Competing processes seen during: {string.Join("; ", busy)}.");
        md.AppendLine();

        md.AppendLine("## Ratios against targets").AppendLine();
        md.AppendLine("| scenario | measure | result | target | met |");
        md.AppendLine("|---|---|---|---|---|");
        foreach (var s in Scenarios)
        {
            if (s.Error is not null)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | (did not finish) | {Escape(s.Error)} | | **no** |");
            foreach (var c in s.Checks)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | {c.Label} | **{Format(c.Value, c.Unit)}** | {c.Comparison} {Format(c.Target, c.Unit)} | {(c.Met ? "yes" : "**no**")} |");
            if (s.Checks.Count == 0 && s.Error is null)
                md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | (no target; see figures) | | | |");
        }

        md.AppendLine().AppendLine("## Absolute figures (they drift with the machine's load)").AppendLine();
        md.AppendLine("| scenario | figures |");
        md.AppendLine("|---|---|");
        foreach (var s in Scenarios)
            md.AppendLine(CultureInfo.InvariantCulture, $"| {s.Title} | {string.Join("; ", s.Figures.Select(f => $"{f.Label} {Format(f.Value, f.Unit)}"))} |");

        md.AppendLine().AppendLine("## Set-up and notes").AppendLine();
        foreach (var s in Scenarios)
        {
            md.Append(CultureInfo.InvariantCulture, $"- **{s.Title}** ({s.Seconds:0} s): ");
            md.Append(string.Join(", ", s.Settings.Select(kv => $"`{kv.Key}={kv.Value}`")));
            foreach (var note in s.Notes)
                md.Append(". ").Append(note);
            md.AppendLine();
        }

        return md.ToString();
    }

    public static string Format(double value, string unit)
    {
        if (double.IsNaN(value))
            return "n/a";
        var c = CultureInfo.InvariantCulture;
        return unit switch
        {
            "x" => value.ToString("0.00", c) + "x",
            "/s" => value.ToString(value < 100 ? "0.0" : "N0", c) + " /s",
            "ms" => value.ToString(Math.Abs(value) < 1 ? "0.00" : Math.Abs(value) < 10 ? "0.0" : "N0", c) + " ms",
            "s" => value.ToString("0.0", c) + " s",
            "MB" => value.ToString("N0", c) + " MB",
            "%" => value.ToString(value >= 99.95 && value < 100 ? "0.00" : "0.0", c) + " %",
            "" when value == Math.Floor(value) && Math.Abs(value) < 1e12 => value.ToString("N0", c),
            "" => value.ToString("0.00##", c),
            _ => value.ToString("0.###", c) + " " + unit,
        };
    }

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
