// cert-sn, public-key, sign, verify, verify-notify, check-keypair.
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "alipaymsg/cert.h"
#include "alipaymsg/crypto.h"
#include "alipaymsg/notify.h"
#include "commands.h"

namespace alipaymsg::cli {
namespace {

std::string ReadAllStdin() {
  std::cin >> std::noskipws;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// Signature keys given on the command line: a private key for sign; for verify a public key
// (PEM or bare base64) or a certificate holding one.
Result<PublicKey> LoadVerifyKey(const std::string& path) {
  return PublicKey::FromFile(path, /*allow_certificate=*/true);
}

void AddCertSn(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("cert-sn", "Print the SN of a certificate as the Java SDK computes it");
  auto file = std::make_shared<std::string>();
  auto root = std::make_shared<bool>(false);
  auto sign_type = std::make_shared<std::string>("RSA2");
  cmd->add_option("FILE", *file, "PEM certificate (first one used) or root bundle")->required();
  cmd->add_flag("--root", *root, "Print the root cert SN of a bundle (alipay_root_cert_sn)");
  cmd->add_option("--sign-type", *sign_type, "With --root: RSA2/RSA count RSA-signed roots, SM2 the SM2 ones");
  cmd->callback([=, &exit_code] {
    auto type = ParseSignType(*sign_type);
    if (!type.ok()) return PrintError("--sign-type: " + type.status().message()), void(exit_code = 2);
    auto certs = Certificate::LoadPemFile(*file);
    if (!certs.ok()) return PrintError(certs.status().message()), void(exit_code = 2);
    if (!*root) {
      std::cout << certs->front().Sn() << "\n";
      return;
    }
    std::string text;
    {
      std::ifstream in(*file, std::ios::binary);
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto sn = RootCertSn(text, *type);
    if (!sn.ok()) return PrintError(*file + ": " + sn.status().message()), void(exit_code = 2);
    if (!sn->has_value()) {
      PrintError(*file + ": no certificate in the bundle is signed with " +
                 std::string(*type == SignType::kSm2 ? "SM2 (SM3withSM2)" : "RSA") +
                 "; the Java SDK would send no alipay_root_cert_sn");
      exit_code = 1;
      return;
    }
    std::cout << **sn << "\n";
  });
}

void AddPublicKey(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("public-key", "Print the base64 SPKI public key of the first certificate");
  auto file = std::make_shared<std::string>();
  cmd->add_option("FILE", *file, "PEM certificate")->required();
  cmd->callback([=, &exit_code] {
    auto certs = Certificate::LoadPemFile(*file);
    if (!certs.ok()) return PrintError(certs.status().message()), void(exit_code = 2);
    auto key = certs->front().GetPublicKey();
    if (!key.ok()) return PrintError(*file + ": " + key.status().message()), void(exit_code = 2);
    std::cout << key->ToBase64Spki() << "\n";
  });
}

void AddSign(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("sign", "Sign the exact bytes of stdin; prints the base64 signature");
  auto key_file = std::make_shared<std::string>();
  auto sign_type = std::make_shared<std::string>("RSA2");
  auto charset = std::make_shared<std::string>("UTF-8");
  cmd->add_option("--key", *key_file, "Private key: PEM (PKCS#1/PKCS#8) or bare base64")->required();
  cmd->add_option("--sign-type", *sign_type, "RSA2 (default), RSA or SM2");
  cmd->add_option("--charset", *charset, "Charset of the signed bytes: UTF-8 (default) or GBK");
  cmd->callback([=, &exit_code] {
    auto type = ParseSignType(*sign_type);
    if (!type.ok()) return PrintError("--sign-type: " + type.status().message()), void(exit_code = 2);
    auto key = PrivateKey::FromFile(*key_file);
    if (!key.ok()) return PrintError(key.status().message()), void(exit_code = 2);
    auto sig = Sign(*key, *type, ReadAllStdin(), *charset);
    if (!sig.ok()) return PrintError(sig.status().message()), void(exit_code = 2);
    std::cout << *sig << "\n";
  });
}

void AddVerify(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("verify", "Verify a signature over the exact bytes of stdin; exit 0 valid, 1 invalid");
  auto key_file = std::make_shared<std::string>();
  auto sign_type = std::make_shared<std::string>("RSA2");
  auto charset = std::make_shared<std::string>("UTF-8");
  auto signature = std::make_shared<std::string>();
  cmd->add_option("--key", *key_file, "Public key (PEM or bare base64) or certificate")->required();
  cmd->add_option("--sign-type", *sign_type, "RSA2 (default), RSA or SM2");
  cmd->add_option("--charset", *charset, "Charset of the signed bytes: UTF-8 (default) or GBK");
  cmd->add_option("--signature", *signature, "Base64 signature")->required();
  cmd->callback([=, &exit_code] {
    auto type = ParseSignType(*sign_type);
    if (!type.ok()) return PrintError("--sign-type: " + type.status().message()), void(exit_code = 2);
    auto key = LoadVerifyKey(*key_file);
    if (!key.ok()) return PrintError(key.status().message()), void(exit_code = 2);
    Status st = Verify(*key, *type, ReadAllStdin(), *signature, *charset);
    if (st.ok()) {
      std::cout << "valid\n";
    } else if (st.code() == StatusCode::kSignatureMismatch) {
      std::cout << "invalid: " << st.message() << "\n";
      exit_code = 1;
    } else {
      PrintError(st.message());
      exit_code = 2;
    }
  });
}

void AddVerifyNotify(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "verify-notify", "Verify an HTTP notification (form body on stdin); prints valid or invalid: REASON");
  auto public_key_file = std::make_shared<std::string>();
  auto cert_file = std::make_shared<std::string>();
  auto* key_opt = cmd->add_option("--alipay-public-key", *public_key_file, "Alipay public key (key mode)");
  auto* cert_opt = cmd->add_option("--alipay-cert", *cert_file,
                                   "Alipay public-key certificate(s) (cert mode; alipay_cert_sn picks one)");
  key_opt->excludes(cert_opt);
  cmd->callback([=, &exit_code] {
    if (public_key_file->empty() && cert_file->empty()) {
      PrintError("verify-notify needs --alipay-public-key FILE or --alipay-cert FILE");
      exit_code = 2;
      return;
    }
    std::optional<PublicKey> default_key;
    NotifyKeys keys;
    if (!public_key_file->empty()) {
      auto key = PublicKey::FromFile(*public_key_file, /*allow_certificate=*/true);
      if (!key.ok()) return PrintError(key.status().message()), void(exit_code = 2);
      default_key = *key;
    } else {
      auto certs = Certificate::LoadPemFile(*cert_file);
      if (!certs.ok()) return PrintError(certs.status().message()), void(exit_code = 2);
      auto by_sn = LoadAlipayCertKeys(*cert_file);
      if (!by_sn.ok()) return PrintError(by_sn.status().message()), void(exit_code = 2);
      keys.alipay_keys_by_cert_sn = std::move(*by_sn);
      // Without alipay_cert_sn in the form: the file's first usable certificate.
      for (const auto& cert : *certs) {
        if (auto it = keys.alipay_keys_by_cert_sn.find(cert.Sn()); it != keys.alipay_keys_by_cert_sn.end()) {
          default_key = it->second;
          break;
        }
      }
    }
    keys.alipay_public_key = &*default_key;
    // `echo "$body" |` and editors end the text with a line break, which a form body never holds:
    // drop exactly one. Anything else stays, and a raw control character inside the form is
    // reported as such.
    std::string body = ReadAllStdin();
    if (body.ends_with("\r\n")) body.resize(body.size() - 2);
    else if (body.ends_with('\n')) body.pop_back();
    auto verified = VerifyNotification(body, keys);
    if (verified.ok()) {
      std::cout << "valid\n";
    } else if (verified.status().code() == StatusCode::kParseError) {
      std::cout << "invalid: cannot parse the notification (not a signature problem): "
                << verified.status().message() << "\n";
      exit_code = 1;
    } else {
      std::cout << "invalid: " << verified.status().message() << "\n";
      exit_code = 1;
    }
  });
}

void AddCheckKeypair(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("check-keypair", "Check that a private key and a public key (or certificate) form a pair");
  auto private_file = std::make_shared<std::string>();
  auto public_file = std::make_shared<std::string>();
  cmd->add_option("--private-key", *private_file, "App private key")->required();
  cmd->add_option("--public-key", *public_file, "App public key or app certificate")->required();
  cmd->callback([=, &exit_code] {
    auto priv = PrivateKey::FromFile(*private_file);
    if (!priv.ok()) return PrintError(priv.status().message()), void(exit_code = 2);
    auto pub = PublicKey::FromFile(*public_file, /*allow_certificate=*/true);
    if (!pub.ok()) return PrintError(pub.status().message()), void(exit_code = 2);
    Status st = CheckKeyPair(*priv, *pub);
    if (st.ok()) {
      std::cout << "match\n";
    } else {
      std::cout << "mismatch: " << st.message() << "\n";
      exit_code = 1;
    }
  });
}

}  // namespace

void PrintError(const std::string& message) { std::cerr << "alipay-msg: " << message << "\n"; }

void AddCryptoCommands(CLI::App& app, int& exit_code) {
  AddCertSn(app, exit_code);
  AddPublicKey(app, exit_code);
  AddSign(app, exit_code);
  AddVerify(app, exit_code);
  AddVerifyNotify(app, exit_code);
  AddCheckKeypair(app, exit_code);
}

}  // namespace alipaymsg::cli
