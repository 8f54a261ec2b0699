// Shared inputs for the micro benchmarks: a throwaway RSA-2048 key pair (generated once per
// process) and a realistic signed CONSUME frame, built with the library's own writer.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "alipaymsg/crypto.h"
#include "protocol/frame.h"

namespace alipaymsg::bench {

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

// One RSA-2048 key pair per process (keygen takes ~0.1 s; every benchmark shares it).
inline const KeyPair& TestKeys() {
  static const KeyPair keys = [] {
    KeyPair k;
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    k.private_pem.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey);
    n = BIO_get_mem_data(bio, &data);
    k.public_pem.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return k;
  }();
  return keys;
}

// bizContent of about `bytes` bytes: shaped like alipay.open.mini.order.changed, padded with a
// "memo" member (the issue asks for 300–2,000 bytes).
inline std::string BizContent(size_t bytes) {
  std::string c =
      R"({"mini_app_id":"2021004100000000","order_id":"20240506123456789012","out_order_id":"ORD-7781-2024",)"
      R"("status":"PAID","total_amount":"88.00","buyer_id":"2088102177846880","gmt_modified":"2024-05-06 07:08:09","memo":")";
  while (c.size() + 2 < bytes) c += "x";
  c += "\"}";
  return c;
}

struct SignedFrame {
  std::string data;   // the signed data text
  std::string sign;   // base64 RSA2 signature
  std::string frame;  // the whole CONSUME frame text
};

inline SignedFrame MakeConsumeFrame(size_t content_bytes, const std::string& msg_id = "0b7d2f3a9c4e5f60718293a4b5c6d7e8") {
  SignedFrame f;
  f.data = BuildDataPart("2021000000000001", "alipay.open.mini.order.changed", "", "", BizContent(content_bytes));
  auto key = PrivateKey::FromText(TestKeys().private_pem);
  f.sign = key.ok() ? Sign(*key, SignType::kRsa2, f.data).value() : std::string();
  FrameHeader header;
  header.from_sys = "openchannel";
  header.from_sys_ip = "10.0.0.1";
  header.stream_id = "s0000000000001";
  ProtocolFields p;
  p.type = "message";
  p.cmd = std::string(kCmdConsume);
  p.msg_id = msg_id;
  p.timestamp = "1714979289123";
  p.version = "1.0";
  p.charset = "UTF-8";
  p.sign_type = "RSA2";
  p.sign = f.sign;
  f.frame = SerializeFrame(header, p, f.data);
  return f;
}

}  // namespace alipaymsg::bench
