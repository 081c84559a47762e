using System.Text.Json.Serialization;

namespace Worker.Benchmarks.Reporting;

/// <summary>A measured figure: the absolute numbers, which drift with the machine's load.</summary>
public sealed record Figure(string Label, double Value, string Unit);

/// <summary>A figure held against its target. Ratios go here first: they survive a busy machine better than absolutes.</summary>
public sealed record Check(string Label, double Value, string Comparison, double Target, string Unit)
{
    public bool Met => !double.IsNaN(Value) && Comparison switch
    {
        ">=" => Value >= Target,
        ">" => Value > Target,
        "<=" => Value <= Target,
        "<" => Value < Target,
        _ => false,
    };
}

/// <summary>What one scenario measured, how it was set up, and what the machine was doing meanwhile.</summary>
public sealed class ScenarioResult(string name, string title)
{
    public string Name { get; } = name;

    public string Title { get; } = title;

    public List<Check> Checks { get; } = [];

    public List<Figure> Figures { get; } = [];

    /// <summary>Worker and simulator settings this scenario used (beyond the common ones).</summary>
    public Dictionary<string, string> Settings { get; } = [];

    public List<string> Notes { get; } = [];

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; set; }

    public double Seconds { get; set; }

    /// <summary>It failed because a connection to RabbitMQ or PostgreSQL was lost: worth running again.</summary>
    [JsonIgnore]
    public bool ConnectionLost { get; set; }

    /// <summary>1-minute load average when the scenario started and ended (2 means both cores busy).</summary>
    public double LoadBefore { get; set; }

    public double LoadAfter { get; set; }

    /// <summary>Other heavy processes seen while it ran (a test run, a build), which would skew the figures.</summary>
    public List<string> Concurrent { get; } = [];

    public void Check(string label, double value, string comparison, double target, string unit = "") =>
        Checks.Add(new Check(label, value, comparison, target, unit));

    public void Figure(string label, double value, string unit = "") => Figures.Add(new Figure(label, value, unit));
}
