using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Worker;

/// <summary>
/// Collects what is wrong with a configuration section, each problem naming its key and its environment variable,
/// e.g. <c>Messaging:StopTimeout must be between 00:00:01 and 01:00:00, was 30.00:00:00 ... (env Messaging__StopTimeout)</c>.
/// </summary>
public sealed class OptionProblems
{
    private readonly List<string> _problems = [];

    public IReadOnlyList<string> All => _problems;

    public void Add(string key, string problem, string? env = null) => _problems.Add($"{key} {problem} (env {env ?? Env(key)})");

    public void Check(bool ok, string key, string problem, string? env = null)
    {
        if (!ok)
        {
            Add(key, problem, env);
        }
    }

    /// <summary>A duration within [<paramref name="min"/>, <paramref name="max"/>]; with <paramref name="zeroIsOff"/>, 0 too.</summary>
    public void Duration(string key, TimeSpan value, TimeSpan min, TimeSpan max, bool zeroIsOff = false)
    {
        if ((zeroIsOff && value == TimeSpan.Zero) || (value >= min && value <= max))
        {
            return;
        }

        Add(key, $"must be {(zeroIsOff ? "0 (off) or " : "")}between {Text(min)} and {Text(max)}, was {Text(value)}{BareNumberHint(value)}");
    }

    /// <summary>
    /// The data annotations of <paramref name="options"/>' own properties, each failure named <c>prefix:Property</c>.
    /// Also used for the entries of dictionary sections (Chains, Pacing), which the binder's validation does not reach.
    /// </summary>
    public void Annotations(object options, string prefix)
    {
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanRead || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var value = property.GetValue(options);
            var context = new ValidationContext(options) { MemberName = property.Name, DisplayName = property.Name };
            foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>())
            {
                if (attribute.GetValidationResult(value, context) is not { } failure)
                {
                    continue;
                }

                Add($"{prefix}:{property.Name}", attribute switch
                {
                    RangeAttribute range => $"must be between {Show(range.Minimum)} and {Show(range.Maximum)}, was {Show(value)}{(value is TimeSpan t ? BareNumberHint(t) : "")}",
                    RequiredAttribute => "is required",
                    _ => failure.ErrorMessage ?? "is not valid",
                });
            }
        }
    }

    /// <summary>Settings under <paramref name="section"/> that <paramref name="optionsType"/> has no property for: the binder ignores a misspelt key.</summary>
    public void UnknownSettings(IConfigurationSection section, Type optionsType)
    {
        var known = optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).Select(p => p.Name).ToList();
        foreach (var setting in section.GetChildren())
        {
            if (!known.Contains(setting.Key, StringComparer.OrdinalIgnoreCase))
            {
                Add(setting.Path, $"is not a setting; known: {string.Join(", ", known)}");
            }
        }
    }

    public ValidateOptionsResult Result() => _problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_problems);

    public static string Env(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    /// <summary>A duration as configuration writes it: 00:00:30, 00:00:00.05, 1.00:00:00.</summary>
    public static string Text(TimeSpan value)
    {
        var text = value.ToString("c", CultureInfo.InvariantCulture);
        return text.IndexOf('.', text.LastIndexOf(':')) < 0 ? text : text.TrimEnd('0');
    }

    /// <summary>TimeSpan reads a bare "30" as 30 days; say so when a value out of range looks like that mistake.</summary>
    public static string BareNumberHint(TimeSpan value) =>
        value >= TimeSpan.FromDays(1) && value.Ticks % TimeSpan.TicksPerDay == 0
            ? $": a bare number is read as days, did you mean {Text(TimeSpan.FromSeconds(value.Days))}?"
            : "";

    private static string Show(object? value) => value switch
    {
        null => "empty",
        TimeSpan t => Text(t),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "empty",
    };
}

public static class OptionsBuilderExtensions
{
    /// <summary>
    /// <c>ValidateDataAnnotations</c>, with each failure naming its configuration key and environment variable
    /// (<c>Messaging:StopTimeout ... (env Messaging__StopTimeout)</c>) instead of the options class and property.
    /// </summary>
    public static OptionsBuilder<T> ValidateDataAnnotationsByKey<T>(this OptionsBuilder<T> builder, string section)
        where T : class
    {
        builder.Services.AddSingleton<IValidateOptions<T>>(new AnnotationsValidator<T>(builder.Name, section));
        return builder;
    }

    private sealed class AnnotationsValidator<T>(string? optionsName, string section) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            if (optionsName is not null && optionsName != name)
            {
                return ValidateOptionsResult.Skip;
            }

            var problems = new OptionProblems();
            problems.Annotations(options, section);
            return problems.Result();
        }
    }
}
