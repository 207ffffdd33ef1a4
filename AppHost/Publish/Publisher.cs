using System.Text.RegularExpressions;
using YamlDotNet.Serialization;

namespace ThinkWatch.AppHost.Publish;

/// <summary>A value written verbatim into YAML (a Helm expression where YAML wants a number or a block).</summary>
public sealed record Raw(string Expression);

public static partial class Publisher
{
    /// <summary>Writes the files for <paramref name="options"/>' target; returns their paths.</summary>
    public static List<string> Publish(DeploymentModel model, PublishOptions options)
    {
        Directory.CreateDirectory(options.Output);
        return options.Target switch
        {
            PublishTarget.Kubernetes => KubernetesPublisher.Write(model, options),
            PublishTarget.Compose => ComposePublisher.Write(model, options),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
    }

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(YamlDotNet.Serialization.NamingConventions.NullNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull)
        .DisableAliases()
        .WithTypeConverter(new RawConverter())
        .Build();

    /// <summary>YAML documents separated by ---; <see cref="Raw"/> values appear unquoted.</summary>
    public static string ToYaml(IEnumerable<object> documents) =>
        RawMarker().Replace(string.Join("---\n", documents.Select(Serializer.Serialize)), m => m.Groups[1].Value.Replace("''", "'", StringComparison.Ordinal));

    internal static string WriteFile(string directory, string name, string content)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    private const string RawOpen = "@@raw@@", RawClose = "@@war@@";

    [GeneratedRegex("'" + RawOpen + "(.*?)" + RawClose + "'")]
    private static partial Regex RawMarker();

    private sealed class RawConverter : IYamlTypeConverter
    {
        public bool Accepts(Type type) => type == typeof(Raw);
        public object? ReadYaml(YamlDotNet.Core.IParser parser, Type type, ObjectDeserializer rootDeserializer) => throw new NotSupportedException();

        public void WriteYaml(YamlDotNet.Core.IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
            emitter.Emit(new YamlDotNet.Core.Events.Scalar(null, null, RawOpen + ((Raw)value!).Expression + RawClose,
                YamlDotNet.Core.ScalarStyle.SingleQuoted, true, false));
    }
}
